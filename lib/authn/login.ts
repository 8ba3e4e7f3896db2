// What counts as a login, and its one normal form. Logins come from the client
// (base64-decoded, so any bytes); anything we would not put in a log line or a
// header is refused before the directory sees it.

import { hasUnsafeLoginCharacters } from '../text'

const MAX_LOGIN_LENGTH = 256

export type LoginProblem = 'empty_login' | 'login_too_long' | 'control_characters'

export type NormalLogin = { ok: true; login: string } | { ok: false; reason: LoginProblem }

/**
 * Trim surrounding white space, NFC-normalise (so a precomposed and a
 * decomposed "é" are one login), and lower-case the domain after the last `@`.
 * The local part keeps its case: the directory's matching rule decides.
 */
export function normaliseLogin(raw: string): NormalLogin {
  const trimmed = raw.trim().normalize('NFC')
  if (!trimmed) return { ok: false, reason: 'empty_login' }
  if ([...trimmed].length > MAX_LOGIN_LENGTH) return { ok: false, reason: 'login_too_long' }
  if (hasUnsafeLoginCharacters(trimmed)) return { ok: false, reason: 'control_characters' }
  const at = trimmed.lastIndexOf('@')
  const login = at < 0 ? trimmed : trimmed.slice(0, at + 1) + trimmed.slice(at + 1).toLowerCase()
  return { ok: true, login }
}
