// Values inside an Authentication-Results header (RFC 8601 §2.2).
import { domainToASCII } from 'node:url'
import { withoutControls } from '../text'

// pvalue = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]
// value is a MIME token (RFC 2045) or a quoted-string; local-part a dot-atom or quoted-string.
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/
// eslint-disable-next-line no-control-regex
const QUOTED_STRING = /^"([^"\\\x00-\x1f\x7f]|\\[\x20-\x7e])*"$/
const DOMAIN_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/

function quoted(text: string): string {
  // Control characters never belong in a header; Haraka strips them too.
  return `"${withoutControls(text).replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/**
 * A login or address as a pvalue: alice@example.com and alice are written as
 * they are; an address with an odd local part keeps its domain and quotes the
 * local part ("john doe"@example.com; one already quoted, as an envelope
 * address keeps it, stays as it is); anything else becomes a quoted-string.
 */
export function authResultsValue(value: string): string {
  if (TOKEN.test(value)) return value
  const at = value.lastIndexOf('@')
  if (at > 0) {
    const local = value.slice(0, at)
    const domain = value.slice(at + 1)
    if (DOMAIN_NAME.test(domain)) return `${DOT_ATOM.test(local) || QUOTED_STRING.test(local) ? local : quoted(local)}@${domain}`
  }
  return quoted(value)
}

// RFC 2045 token characters, plus non-ASCII (RFC 6532 internationalised names).
const TOKEN_CHAR = /[!#$%&'*+\-.0-9A-Z^_`a-z{|}~\u0080-\uffff]/
const WSP = /[ \t\r\n]/

/** Index after the CFWS (RFC 5322 §3.2.2: nested comments, quoted-pairs) starting at `i`; null for a comment never closed. */
function skipCfws(text: string, i: number): number | null {
  for (;;) {
    while (i < text.length && WSP.test(text[i]!)) i++
    if (text[i] !== '(') return i
    let depth = 0
    for (; i < text.length; i++) {
      const ch = text[i]
      if (ch === '\\') i++
      else if (ch === '(') depth++
      else if (ch === ')' && --depth === 0) break
    }
    if (depth !== 0) return null
    i++
  }
}

/** The comparison form of an authserv-id: no trailing dot, lower-case, a non-ASCII name as its A-label. */
export function canonicalAuthservId(id: string): string {
  const lower = id.trim().replace(/\.+$/, '').toLowerCase()
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(lower) ? lower : domainToASCII(lower) || lower
}

/**
 * The authserv-id of an Authentication-Results field value, RFC 8601 §2.2
 * (`[CFWS] authserv-id [CFWS authres-version] ( ";" ... )`), in the form
 * canonicalAuthservId gives: comments (nested, with quoted-pairs) skipped
 * before any `;` counts, a quoted-string unquoted. Null when the value cannot
 * be read that way (a comment or quoted-string never closed, no id, something
 * else before the `;`): the caller treats it as ours, failing closed.
 */
export function authservIdOf(fieldValue: string): string | null {
  let i = skipCfws(fieldValue, 0)
  if (i === null) return null
  let id = ''
  if (fieldValue[i] === '"') {
    for (i++; ; i++) {
      if (i >= fieldValue.length) return null
      const ch = fieldValue[i]!
      if (ch === '"') break
      if (ch === '\\') {
        if (++i >= fieldValue.length) return null
        id += fieldValue[i]
      } else id += ch
    }
    i++
  } else {
    const start = i
    while (i < fieldValue.length && TOKEN_CHAR.test(fieldValue[i]!)) i++
    id = fieldValue.slice(start, i)
  }
  let rest = skipCfws(fieldValue, i)
  if (rest !== null && /[0-9]/.test(fieldValue[rest] ?? '')) {
    // authres-version
    while (/[0-9]/.test(fieldValue[rest] ?? '')) rest++
    rest = skipCfws(fieldValue, rest)
  }
  if (rest === null || (rest < fieldValue.length && fieldValue[rest] !== ';')) return null
  const canonical = canonicalAuthservId(id)
  return canonical || null
}

/**
 * The resinfo of a successful SMTP AUTH (RFC 8601 §2.7.4), e.g.
 * `auth=pass (plain) smtp.auth=alice@example.com smtp.mailfrom=alice@example.com`.
 * A null sender ('') adds no smtp.mailfrom: there is no mailbox to name.
 */
export function authPassClause(opts: { login: string; mechanism?: string; mailFrom?: string }): string {
  const mech = (opts.mechanism ?? '').toLowerCase().replace(/[^a-z0-9_-]/g, '')
  let clause = `auth=pass${mech ? ` (${mech})` : ''} smtp.auth=${authResultsValue(opts.login)}`
  if (opts.mailFrom) clause += ` smtp.mailfrom=${authResultsValue(opts.mailFrom)}`
  return clause
}

/** A resinfo that is an `auth=` result (whichever plugin recorded it). */
export function isAuthClause(resinfo: string): boolean {
  return /^\s*auth\s*=/i.test(resinfo)
}
