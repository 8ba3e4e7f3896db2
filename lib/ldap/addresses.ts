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
