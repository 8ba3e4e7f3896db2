// What counts as a login, and its one normal form. Logins come from the client
// (base64-decoded, so any bytes); anything we would not put in a log line or a
// header is refused before the directory sees it.

export const MAX_LOGIN_LENGTH = 256

export type NormalLogin = { ok: true; login: string } | { ok: false; reason: string }

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

/**
 * Control characters (Unicode Cc: C0, DEL and C1), refused in passwords:
 * nothing a person types, and a NUL ends the string for a C directory server
 * (a shorter, or empty, password).
 */
export function hasControlCharacters(text: string): boolean {
  return /\p{Cc}/u.test(text)
}

// What must not reach a log line or a header as it is: controls (C0, DEL, C1
// with NEL), the Unicode line and paragraph separators, and the bidi controls
// (Bidi_Control: ALM, LRM, RLM, LRE..RLO, LRI..PDI), which reorder how a line reads.
const UNSAFE_TEXT = /[\p{Cc}\p{Zl}\p{Zp}\p{Bidi_Control}]/u
const UNSAFE_TEXT_ALL = new RegExp(UNSAFE_TEXT.source, 'gu')

/** Refused in logins (and authorization identities): control characters, line separators, bidi controls. */
export function hasUnsafeLoginCharacters(text: string): boolean {
  return UNSAFE_TEXT.test(text)
}

/** A client string as it may appear in a log line: printable, bounded, quoted. */
export function safeForLog(raw: string): string {
  return JSON.stringify(raw.slice(0, 80).replace(UNSAFE_TEXT_ALL, '?'))
}
