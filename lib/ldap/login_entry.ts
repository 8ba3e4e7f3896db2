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
