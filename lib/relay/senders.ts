// "May this login use this sender address?" (Dovecot's authz question), from
// the addresses the directory lists for the login.
import type { DirectoryConfig } from '../ldap/config'
import type { Directory } from '../ldap/directory'
import { loginParts } from '../ldap/template'

export type Owned = { kind: 'found'; addresses: ReadonlySet<string> } | { kind: 'no_entry' }

/**
 * Addresses compare case-insensitively as a whole: the domain is
 * case-insensitive (RFC 5321 §2.4) and directories match `mail` with
 * caseIgnoreIA5Match, so the directory itself treats `Alice@` and `alice@` as one.
 */
export function normaliseAddress(address: string): string {
  return address.trim().toLowerCase()
}

export function ownsAddress(owned: ReadonlySet<string>, address: string): boolean {
  return owned.has(normaliseAddress(address))
}

/** The login's entry, found the same way ldap_auth found it, and its address attributes. */
export async function lookupOwnedAddresses(
  dir: Directory,
  cfg: DirectoryConfig,
  login: string,
  attributes: readonly string[],
): Promise<Owned> {
  const parts = loginParts(login)
  let values: Record<string, string[]>
  if (cfg.mode === 'template') {
    const entry = await dir.readEntry(dir.userDn(parts), attributes)
    if (!entry) return { kind: 'no_entry' }
    values = entry.attributes
  } else {
    const found = await dir.findUser(parts, attributes)
    if (found.kind !== 'found') return { kind: 'no_entry' }
    values = found.entry.attributes
  }
  const addresses = new Set<string>()
  for (const attr of attributes) {
    for (const v of values[attr.toLowerCase()] ?? []) addresses.add(normaliseAddress(v))
  }
  return { kind: 'found', addresses }
}
