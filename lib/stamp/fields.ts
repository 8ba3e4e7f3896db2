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

/** Unfolded, runs of white space collapsed to one space, trimmed: survives a hop that refolds. */
export function canonicalFieldValue(field: string): string {
  return fieldValue(field).replace(/[ \t]+/g, ' ')
}

/** The header section of a raw message (.eml) as Haraka-style field strings. */
export function headerFieldsOf(raw: string): string[] {
  const end = /\r?\n\r?\n/.exec(raw)
  const head = end ? raw.slice(0, end.index) : raw
  const fields: string[] = []
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length) fields[fields.length - 1] += `${line}\n`
    else if (line) fields.push(`${line}\n`)
  }
  // keep the folds as Haraka does: the line break before a continuation stays in the field
  return fields.map((f) => f.replace(/\n(?=[ \t])/g, '\r\n'))
}

const AR_NAMES = new Set(['authentication-results', 'original-authentication-results'])

export interface ForgeryRule {
  /** lower-case names of headers only we may write (X-Authenticated-User, ...) */
  identityHeaders: ReadonlySet<string>
  /** lower-case names of the signed stamp header(s) */
  stampHeaders?: ReadonlySet<string>
  /** our authserv-id, lower-case: A-R fields claiming it are forged (RFC 8601 §5) */
  authservId: string
  /**
   * The Authentication-Results value Haraka itself appended at the end of DATA
   * (it replaces that field after data_post): not a forgery, left alone.
   */
  pendingAuthResults?: string
}

export type OurFieldKind = 'identity' | 'stamp' | 'auth_results'

export interface OurField {
  index: number
  /** lower-case name */
  name: string
  kind: OurFieldKind
}

/** Fields that carry (or claim to carry) our stamp: identity and stamp headers, A-R with our authserv-id. */
export function ourFields(fields: readonly string[], rule: ForgeryRule): OurField[] {
  const out: OurField[] = []
  const pending = rule.pendingAuthResults?.replace(/\r?\n[ \t]*/g, ' ').trim()
  let pendingAt = -1
  if (pending) {
    for (let i = fields.length - 1; i >= 0; i--) {
      if (fieldName(fields[i]!) === 'authentication-results' && fieldValue(fields[i]!) === pending) {
        pendingAt = i
        break
      }
    }
  }
  fields.forEach((field, index) => {
    const name = fieldName(field)
    if (rule.identityHeaders.has(name)) out.push({ index, name, kind: 'identity' })
    else if (rule.stampHeaders?.has(name)) out.push({ index, name, kind: 'stamp' })
    else if (AR_NAMES.has(name) && index !== pendingAt && authservIdOf(fieldValue(field)) === rule.authservId) {
      out.push({ index, name, kind: 'auth_results' })
    }
  })
  return out
}

/** Indexes of fields a client supplied that would impersonate our stamp. */
export function forgedFieldIndexes(fields: readonly string[], rule: ForgeryRule): number[] {
  return ourFields(fields, rule).map((f) => f.index)
}
