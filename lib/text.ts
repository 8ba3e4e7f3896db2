// Client text (logins, addresses, header text) as it may appear in a log line,
// and the characters no login may hold. One copy, used by every plugin and tool.

// What must not reach a log line or a header as it is: controls (C0, DEL, C1
// with NEL), the Unicode line and paragraph separators, and the bidi controls
// (Bidi_Control: ALM, LRM, RLM, LRE..RLO, LRI..PDI), which reorder how a line reads.
const UNSAFE_TEXT = /[\p{Cc}\p{Zl}\p{Zp}\p{Bidi_Control}]/u
const UNSAFE_TEXT_ALL = new RegExp(UNSAFE_TEXT.source, 'gu')

/**
 * Control characters (Unicode Cc: C0, DEL and C1), refused in passwords:
 * nothing a person types, and a NUL ends the string for a C directory server
 * (a shorter, or empty, password).
 */
export function hasControlCharacters(text: string): boolean {
  return /\p{Cc}/u.test(text)
}

/** Refused in logins (and authorization identities): control characters, line separators, bidi controls. */
export function hasUnsafeLoginCharacters(text: string): boolean {
  return UNSAFE_TEXT.test(text)
}

/** A client string as it may appear in a log line: printable, bounded, quoted. */
export function safeForLog(raw: string): string {
  return JSON.stringify(printable(raw.slice(0, 80)))
}

/** Client text inside a log line we word ourselves: every control, line separator and bidi control as `?`. */
export function printable(raw: string): string {
  return raw.replace(UNSAFE_TEXT_ALL, '?')
}

// C0 controls (CR, LF and TAB among them) and DEL: what our own header values and terminal output never carry.
const C0_AND_DEL = /[\x00-\x1f\x7f]/g

/** `text` with every C0 control and DEL removed, or replaced by `replacement` (e.g. '?' for a terminal). */
export function withoutControls(text: string, replacement = ''): string {
  return text.replace(C0_AND_DEL, replacement)
}
