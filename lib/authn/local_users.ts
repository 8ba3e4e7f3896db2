// The local credentials file config/auth_enc_file.ini (the format of
// haraka-plugin-auth-enc-file): section [users], one `login=<SHA512-crypt hash>`
// per line. For service accounts that are not in the directory, and optionally
// as a fallback while the directory is down.
// Logins compare case-insensitively (the file's keys are lower-cased once).
// An unknown login is hashed against a dummy entry with the file's usual
// rounds, so it costs what a known login costs.
import { type Parsed, type IniFile } from '../config/schema'
import { normaliseLogin } from './login'
import { parseHash, randomSalt, ROUNDS_DEFAULT, verifyParsed, type ParsedHash } from './sha512crypt'

export type LocalCheck = 'OK' | 'MISMATCH' | 'UNKNOWN'

export interface LocalUsers {
  readonly size: number
  has(login: string): boolean
  /** Constant-time for a given rounds count; UNKNOWN costs the same as a known login. */
  verify(login: string, password: string): LocalCheck
  /** The login as the file writes it (the session's identity for a local user), if listed. */
  loginOf(login: string): string | undefined
}

function key(login: string): string {
  return login.toLowerCase()
}

/** The most common rounds count in the file (the default when it is empty). */
function usualRounds(hashes: Iterable<ParsedHash>): number {
  const counts = new Map<number, number>()
  for (const h of hashes) counts.set(h.rounds, (counts.get(h.rounds) ?? 0) + 1)
  let best = ROUNDS_DEFAULT
  let bestCount = 0
  for (const [rounds, count] of counts) if (count > bestCount) [best, bestCount] = [rounds, count]
  return best
}

/** `check` is the hash comparison (a test counts what it is given); the default is SHA512-crypt. */
export function makeLocalUsers(
  entries: ReadonlyMap<string, ParsedHash>,
  check: (password: string, hash: ParsedHash) => boolean = verifyParsed,
  /** the file's spelling of each login, by lower-cased key (default: the key) */
  names: ReadonlyMap<string, string> = new Map(),
): LocalUsers {
  const dummy: ParsedHash = {
    rounds: usualRounds(entries.values()),
    explicitRounds: true,
    salt: randomSalt(),
    digest: '.'.repeat(86),
  }
  return {
    size: entries.size,
    has: (login) => entries.has(key(login)),
    loginOf: (login) => (entries.has(key(login)) ? (names.get(key(login)) ?? key(login)) : undefined),
    verify(login, password) {
      const entry = entries.get(key(login))
      const ok = check(password, entry ?? dummy)
      if (!entry) return 'UNKNOWN'
      return ok ? 'OK' : 'MISMATCH'
    },
  }
}

/** Parse the file as haraka-config returns it: { users: { login: hash } }. Errors never quote a hash. */
export function parseLocalUsers(raw: Record<string, any>): Parsed<LocalUsers> {
  const errors: string[] = []
  for (const section of Object.keys(raw)) {
    if (section === 'main' && Object.keys(raw.main ?? {}).length === 0) continue
    if (section !== 'users') errors.push(`[${section}]: unknown section (logins go in [users])`)
  }
  const entries = new Map<string, ParsedHash>()
  const names = new Map<string, string>()
  for (const [login, value] of Object.entries((raw.users ?? {}) as Record<string, unknown>)) {
    const norm = normaliseLogin(login)
    if (!norm.ok) {
      errors.push(`[users] ${JSON.stringify(login)}: not a valid login (${norm.reason})`)
      continue
    }
    const parsed = typeof value === 'string' ? parseHash(value) : null
    if (!parsed) {
      errors.push(
        `[users] ${norm.login}: not a SHA512-crypt hash ($6$[rounds=N$]salt$hash); generate one with npm run hash-password`,
      )
      continue
    }
    if (entries.has(key(norm.login)))
      errors.push(`[users] ${norm.login}: listed twice (logins compare case-insensitively)`)
    entries.set(key(norm.login), parsed)
    names.set(key(norm.login), norm.login)
  }
  if (errors.length) return { ok: false, errors }
  return { ok: true, cfg: Object.freeze(makeLocalUsers(entries, verifyParsed, names)) }
}

/** config/auth_enc_file.ini (haraka-plugin-auth-enc-file's format): no booleans */
export const AUTH_ENC_FILE_INI: IniFile<LocalUsers> = {
  name: 'auth_enc_file.ini',
  booleans: [],
  parse: parseLocalUsers,
}
