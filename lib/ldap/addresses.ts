// Mail addresses in directory attribute values. Most attributes (mail,
// mailAlternateAddress) hold plain addresses; Active Directory's proxyAddresses
// holds typed values: `SMTP:primary`, `smtp:alias`, and other types (`X500:`,
// `SIP:`), of which only the SMTP ones are addresses, the prefix removed.

export interface AttributeAddress {
  address: string
  /** proxyAddresses' upper-case `SMTP:` value: the primary address */
  primary: boolean
}

export function addressesOfValue(attribute: string, value: string): AttributeAddress | null {
  const text = value.trim()
  if (attribute.toLowerCase() !== 'proxyaddresses') return text ? { address: text, primary: false } : null
  const m = /^(smtp):(.+)$/i.exec(text)
  if (!m) return null
  return { address: m[2]!.trim(), primary: m[1] === 'SMTP' }
}

// An addr-spec without white space or control characters: the only values we write into a header field.
const HEADER_SAFE_ADDRESS = /^[^\s@\x00-\x1f\x7f]+@[^\s@\x00-\x1f\x7f]+$/

/**
 * An entry's primary address (auth_stamp's identity header, auth_relay's added
 * Sender), from the values of `attributes`, in that order and in the order the
 * directory returned them: the upper-case `SMTP:` proxyAddresses value, else
 * the first value of another attribute (lower-case `smtp:` values are
 * secondary). A value that is not an address fit for a header field is never it.
 */
export function pickPrimary(
  values: Readonly<Record<string, readonly string[]>>,
  attributes: readonly string[],
): string | undefined {
  let first: string | undefined
  for (const attribute of attributes) {
    for (const value of values[attribute.toLowerCase()] ?? []) {
      const found = addressesOfValue(attribute, value)
      if (!found || !HEADER_SAFE_ADDRESS.test(found.address)) continue
      if (found.primary) return found.address
      if (attribute.toLowerCase() !== 'proxyaddresses') first ??= found.address
    }
  }
  return first
}
