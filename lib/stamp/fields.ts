// Header fields as Haraka keeps them: one string per field, folded lines
// included ("Name: value\n\tmore\n"). Names are matched the lenient way a mail
// reader would: case-insensitive, and with the obsolete white space before the
// colon (RFC 5322 §4.5.3, "X-Authenticated-User : bob") still counting.
import { authservIdOf } from './auth_results'

export function fieldName(field: string): string {
  const colon = field.indexOf(':')
  return colon < 0 ? '' : field.slice(0, colon).trim().toLowerCase()
}

export function fieldValue(field: string): string {
  const colon = field.indexOf(':')
  return colon < 0 ? '' : field.slice(colon + 1).replace(/\r?\n[ \t]*/g, ' ').trim()
}

const AR_NAMES = new Set(['authentication-results', 'original-authentication-results'])

export interface ForgeryRule {
  /** lower-case names of headers only we may write (X-Authenticated-User, ...) */
  identityHeaders: ReadonlySet<string>
  /** our authserv-id, lower-case: A-R fields claiming it are forged (RFC 8601 §5) */
  authservId: string
}

/** Indexes of fields a client supplied that would impersonate our stamp. */
export function forgedFieldIndexes(fields: readonly string[], rule: ForgeryRule): number[] {
  const out: number[] = []
  fields.forEach((field, i) => {
    const name = fieldName(field)
    if (rule.identityHeaders.has(name)) out.push(i)
    else if (AR_NAMES.has(name) && authservIdOf(fieldValue(field)) === rule.authservId) out.push(i)
  })
  return out
}
