// The login's primary address, for identity_value=address: the first value of
// the configured attribute (default `mail`) of the entry the login belongs to,
// found the way ldap_auth finds it (search with user_filter, or dn_template).
// For Active Directory's proxyAddresses the primary is the value prefixed with
// upper-case `SMTP:` (lower-case `smtp:` values are secondary addresses).
import type { Directory } from '../ldap/directory'
import { loginParts } from '../ldap/template'

export type Primary = { kind: 'found'; address: string } | { kind: 'no_entry' } | { kind: 'no_address' }

// An addr-spec without white space or control characters; anything else is not used as a header value.
const ADDRESS = /^[^\s@\x00-\x1f\x7f]+@[^\s@\x00-\x1f\x7f]+$/

/** The primary address among an attribute's values, in the order the directory returned them. */
export function pickPrimary(attribute: string, values: readonly string[]): string | undefined {
  const candidates =
    attribute.toLowerCase() === 'proxyaddresses'
      ? values.filter((v) => v.startsWith('SMTP:')).map((v) => v.slice('SMTP:'.length))
      : values
  const first = candidates[0]?.trim()
  return first && ADDRESS.test(first) ? first : undefined
}

export async function primaryAddress(dir: Directory, mode: string, login: string, attribute: string): Promise<Primary> {
  const parts = loginParts(login)
  let values: string[] | undefined
  if (mode === 'template') {
    const entry = await dir.readEntry(dir.userDn(parts), [attribute])
    if (!entry) return { kind: 'no_entry' }
    values = entry.attributes[attribute.toLowerCase()]
  } else {
    const found = await dir.findUser(parts, [attribute])
    if (found.kind !== 'found') return { kind: 'no_entry' }
    values = found.entry.attributes[attribute.toLowerCase()]
  }
  const address = pickPrimary(attribute, values ?? [])
  return address ? { kind: 'found', address } : { kind: 'no_address' }
}
