// The login's primary address, for identity_value=address: the primary value
// (lib/ldap/addresses pickPrimary) of the configured attribute (default `mail`)
// of the entry the login belongs to, found by lib/ldap/login_entry (search with
// user_filter, or the dn_template DN that exists).
import type { Directory } from '../ldap/types'
import { pickPrimary } from '../ldap/addresses'
import { findLoginEntry } from '../ldap/login_entry'

export type Primary = { kind: 'found'; address: string } | { kind: 'no_entry' } | { kind: 'no_address' }

export async function primaryAddress(
  dir: Directory,
  mode: string,
  login: string,
  attribute: string,
): Promise<Primary> {
  const found = await findLoginEntry(dir, mode, login, [attribute])
  if (found.kind !== 'found') return { kind: 'no_entry' }
  const address = pickPrimary(found.entry.attributes, [attribute])
  return address ? { kind: 'found', address } : { kind: 'no_address' }
}
