// The directory entry a login names, for the plugins that read a user's
// attributes after AUTH (auth_relay's addresses, auth_stamp's primary address).
// Search mode: the one entry user_filter matches. Template mode: the one
// dn_template DN that exists; two existing DNs are ambiguous, like two search
// matches, so no entry is chosen and no user's attributes are read for another.
import type { Directory, DirectoryEntry, Lookup } from './types'
import { dnEqual } from './dn'
import { loginParts } from './template'

export async function findLoginEntry(
  dir: Directory,
  mode: string,
  login: string,
  attributes: readonly string[],
): Promise<Lookup> {
  const parts = loginParts(login)
  if (mode !== 'template') return dir.findUser(parts, attributes)
  let found: DirectoryEntry | undefined
  for (const dn of dir.userDns(parts)) {
    const entry = await dir.readEntry(dn, attributes)
    if (!entry) continue
    // Two templates may render the same DN: that is one entry, not an ambiguity.
    if (found && dnEqual(found.dn, entry.dn || dn)) continue
    if (found) return { kind: 'ambiguous' }
    found = { dn: entry.dn || dn, attributes: entry.attributes }
  }
  return found ? { kind: 'found', entry: found } : { kind: 'none' }
}

/**
 * A login's entry as one search mode lookup read it (ldap_auth's, at AUTH), kept for the
 * session so the checks after AUTH (auth_relay's addresses) need not search again. It
 * stands for findLoginEntry's answer only under the same search: the same directory
 * settings (`key`), the same login, and every attribute wanted among those it read.
 */
export interface KnownLoginEntry {
  /** loginEntryKey of the settings the entry was found under (DirectoryConfig.loginKey) */
  key: string
  /** the login it was searched for, as the filter got it */
  login: string
  entry: DirectoryEntry
  /** attributes the search asked for, lower-cased */
  read: readonly string[]
}

interface EntryKeySettings {
  mode: string
  servers: readonly string[]
  bind_dn: string
  base_dn: string
  scope: string
  user_filter: string
}

/** What a search mode login lookup depends on: servers, service account, base, scope and filter. */
export function loginEntryKey(cfg: EntryKeySettings): string {
  return JSON.stringify([cfg.mode, cfg.servers, cfg.bind_dn, cfg.base_dn, cfg.scope, cfg.user_filter])
}

/** The known entry when it answers findLoginEntry(login, attributes) under `key` (search mode only), else undefined. */
export function knownLoginEntry(
  known: KnownLoginEntry | undefined,
  key: string,
  mode: string,
  login: string,
  attributes: readonly string[],
): DirectoryEntry | undefined {
  if (!known || mode !== 'search' || known.key !== key || known.login !== login) return undefined
  const read = new Set(known.read)
  return attributes.every((a) => read.has(a.toLowerCase())) ? known.entry : undefined
}
