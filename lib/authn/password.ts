// "Is the password right?" (Dovecot's passdb question), against the directory, for
// a login already in its one normal form (lib/authn/login: verify normalises it once).
// An outage is not an outcome: DirectoryUnavailableError (DirectoryBusyError for a
// full pool) propagates, with its class and message, to the one place that chooses
// a fallback or the 454 (lib/authn/verify).
import type { AuthDirectory, DirectoryEntry } from '../ldap/types'
import { loginParts } from '../ldap/template'

export type PasswordOutcome = 'OK' | 'PASSWORD_MISMATCH' | 'USER_UNKNOWN' | 'AMBIGUOUS' | 'EMPTY_PASSWORD'

export type PasswordReason =
  'bind_ok' | 'invalid_credentials' | 'no_such_user' | 'filter_matched_several_entries' | 'empty_password'

export interface PasswordResult {
  outcome: PasswordOutcome
  /** why, for the results label and the log line (never contains the password) */
  reason: PasswordReason
  dn?: string
  /** on OK: the entry's `attributes` (search mode: read as the service account; template: as the user) */
  entry?: DirectoryEntry | null
  /** template mode, on OK: the index of the dn_template whose DN the password bound to */
  template?: number
  /** the URL of the directory server that answered (template mode: the last bind's; search mode: the search's) */
  server?: string
  /** search mode with `groupCheck`, on OK: its answer, to await where the group counts (a failure rejects there) */
  inGroup?: Promise<boolean>
}

export async function authenticate(
  dir: AuthDirectory,
  mode: 'search' | 'template',
  login: string,
  password: string,
  opts: {
    attributes?: readonly string[]
    /**
     * Search mode: a group check for the found DN, run alongside the bind (one round trip
     * less); its answer counts only when the password is right, and a refused password
     * discards it, failure included.
     */
    groupCheck?: (dn: string) => Promise<boolean>
  } = {},
): Promise<PasswordResult> {
  const attributes = opts.attributes ?? []
  // An empty password would be an unauthenticated bind, which many servers
  // accept as anonymous success (RFC 4513 §5.1.2): never send one.
  if (password.length === 0) return { outcome: 'EMPTY_PASSWORD', reason: 'empty_password' }
  const parts = loginParts(login)
  if (mode === 'template') {
    // Each DN template in order; the first one the password binds to is the user.
    const dns = dir.userDns(parts)
    let server: string | undefined
    for (const [template, dn] of dns.entries()) {
      const r = await dir.bindAndRead(dn, password, attributes)
      server = r.server
      if (r.ok) return { outcome: 'OK', dn, entry: r.entry, template, reason: 'bind_ok', ...at(server) }
    }
    return { outcome: 'PASSWORD_MISMATCH', dn: dns[0], reason: 'invalid_credentials', ...at(server) }
  }
  const found = await dir.findUser(parts, attributes.length ? attributes : ['1.1'])
  const { server } = found
  if (found.kind === 'none') return { outcome: 'USER_UNKNOWN', reason: 'no_such_user', ...at(server) }
  if (found.kind === 'ambiguous')
    return { outcome: 'AMBIGUOUS', reason: 'filter_matched_several_entries', ...at(server) }
  const dn = found.entry.dn
  const group = opts.groupCheck?.(dn)
  group?.catch(() => undefined) // awaited by the caller only when the password is right
  // `server`: the one that found the entry (the bind goes to the same one, the first that is up)
  if (!(await dir.checkPassword(dn, password)))
    return { outcome: 'PASSWORD_MISMATCH', dn, reason: 'invalid_credentials', ...at(server) }
  const ok: PasswordResult = { outcome: 'OK', dn, entry: found.entry, reason: 'bind_ok', ...at(server) }
  if (group) ok.inGroup = group
  return ok
}

/** `{server}` when it is known: a result never carries an undefined key. */
function at(server: string | undefined): { server?: string } {
  return server === undefined ? {} : { server }
}
