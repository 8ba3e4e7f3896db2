// The login's primary address, for identity_value=address: the first value of
// the configured attribute (default `mail`) of the entry the login belongs to,
// found by lib/ldap/login_entry (search with user_filter, or the dn_template DN that exists).
// For Active Directory's proxyAddresses the primary is the value prefixed with
// upper-case `SMTP:` (lower-case `smtp:` values are secondary addresses).
import type { Directory } from '../ldap/types'
import { addressesOfValue, type AttributeAddress } from '../ldap/addresses'
import { findLoginEntry } from '../ldap/login_entry'

export type Primary = { kind: 'found'; address: string } | { kind: 'no_entry' } | { kind: 'no_address' }

// An addr-spec without white space or control characters; anything else is not used as a header value.
const ADDRESS = /^[^\s@\x00-\x1f\x7f]+@[^\s@\x00-\x1f\x7f]+$/

/** The primary address among an attribute's values, in the order the directory returned them. */
export function pickPrimary(attribute: string, values: readonly string[]): string | undefined {
  const found = values
    .map((v) => addressesOfValue(attribute, v))
    .filter((a): a is AttributeAddress => a !== null)
  const candidates = attribute.toLowerCase() === 'proxyaddresses' ? found.filter((a) => a.primary) : found
  const first = candidates[0]?.address
  return first && ADDRESS.test(first) ? first : undefined
}

export async function primaryAddress(
  dir: Directory,
  mode: string,
  login: string,
  attribute: string,
): Promise<Primary> {
  const found = await findLoginEntry(dir, mode, login, [attribute])
  if (found.kind !== 'found') return { kind: 'no_entry' }
  const address = pickPrimary(attribute, found.entry.attributes[attribute.toLowerCase()] ?? [])
  return address ? { kind: 'found', address } : { kind: 'no_address' }
}
