// Values inside an Authentication-Results header (RFC 8601 §2.2).

// pvalue = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]
// value is a MIME token (RFC 2045) or a quoted-string; local-part a dot-atom or quoted-string.
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/
// eslint-disable-next-line no-control-regex
const QUOTED_STRING = /^"([^"\\\x00-\x1f\x7f]|\\[\x20-\x7e])*"$/
const DOMAIN_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/

function quoted(text: string): string {
  // Control characters never belong in a header; Haraka strips them too.
  // eslint-disable-next-line no-control-regex
  return `"${text.replace(/[\x00-\x1f\x7f]/g, '').replace(/[\\"]/g, (c) => `\\${c}`)}"`
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

/** The authserv-id of an Authentication-Results field value: the text before the first `;`, comments removed. */
export function authservIdOf(fieldValue: string): string {
  const head = fieldValue.split(';', 1)[0] ?? ''
  const noComments = head.replace(/\([^()]*\)/g, ' ')
  // authserv-id [ CFWS authres-version ]
  return (noComments.trim().split(/\s+/)[0] ?? '').toLowerCase()
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
