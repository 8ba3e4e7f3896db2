// "Is the password right?" (Dovecot's passdb question), against the directory.
// Returns a typed outcome; the hook maps it to a reply through REPLIES.
import { DirectoryUnavailableError } from '../ldap/errors'
import type { AuthDirectory, DirectoryEntry } from '../ldap/types'
import { loginParts } from '../ldap/template'
import { normaliseLogin } from './login'

export type AuthnOutcome =
  | 'OK'
  | 'PASSWORD_MISMATCH'
  | 'USER_UNKNOWN'
  | 'AMBIGUOUS'
  | 'EMPTY_PASSWORD'
  | 'INVALID_LOGIN'
  | 'DIRECTORY_DOWN'

export interface AuthnResult {
  outcome: AuthnOutcome
  /** the normalised login, when it was valid */
  login?: string
  dn?: string
  /** the entry's `attributes` (search mode: read by the service account; template mode: by the user), on OK */
  entry?: DirectoryEntry | null
  /** template mode, on OK: the index of the dn_template whose DN the password bound to */
  template?: number
  /** why, for the log line (never contains the password) */
  reason: string
  /** on DIRECTORY_DOWN: the error, whose class says outage or load (DirectoryBusyError) */
  error?: DirectoryUnavailableError
}

export async function authenticate(
  dir: AuthDirectory,
  mode: 'search' | 'template',
  rawLogin: string,
  password: string,
  opts: { attributes?: readonly string[] } = {},
): Promise<AuthnResult> {
  const attributes = opts.attributes ?? []
  const norm = normaliseLogin(rawLogin)
  if (!norm.ok) return { outcome: 'INVALID_LOGIN', reason: norm.reason }
  const login = norm.login
  // An empty password would be an unauthenticated bind, which many servers
  // accept as anonymous success (RFC 4513 §5.1.2): never send one.
  if (password.length === 0) return { outcome: 'EMPTY_PASSWORD', login, reason: 'empty_password' }
  const parts = loginParts(login)
  try {
    if (mode === 'template') {
      // Each DN template in order; the first one the password binds to is the user.
      const dns = dir.userDns(parts)
      for (const [template, dn] of dns.entries()) {
        const r = await dir.bindAndRead(dn, password, attributes)
        if (r.ok) return { outcome: 'OK', login, dn, entry: r.entry, template, reason: 'bind_ok' }
      }
      return { outcome: 'PASSWORD_MISMATCH', login, dn: dns[0], reason: 'invalid_credentials' }
    }
    const found = await dir.findUser(parts, attributes.length ? attributes : ['1.1'])
    if (found.kind === 'none') return { outcome: 'USER_UNKNOWN', login, reason: 'no_such_user' }
    if (found.kind === 'ambiguous')
      return { outcome: 'AMBIGUOUS', login, reason: 'filter_matched_several_entries' }
    const dn = found.entry.dn
    const ok = await dir.checkPassword(dn, password)
    return ok
      ? { outcome: 'OK', login, dn, entry: found.entry, reason: 'bind_ok' }
      : { outcome: 'PASSWORD_MISMATCH', login, dn, reason: 'invalid_credentials' }
  } catch (err) {
    if (err instanceof DirectoryUnavailableError) {
      return { outcome: 'DIRECTORY_DOWN', login, reason: `directory_unavailable: ${err.message}`, error: err }
    }
    throw err
  }
}
