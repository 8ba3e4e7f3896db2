// Which header fields carry (or claim to carry) our stamp. Field names and
// values are read as lib/mail/fields reads them (any case, obsolete form); a
// field with a malformed name has no name there and is never one of ours here
// (lib/stamp/plan removes it as malformed).
import { fieldName, fieldValue, unfold } from '../mail/fields'
import { authservIdOf, canonicalAuthservId } from '../mail/auth_results'

const AR_NAMES = new Set(['authentication-results', 'original-authentication-results'])

export interface ForgeryRule {
  /** lower-case names of headers only we may write (X-Authenticated-User, ...) */
  identityHeaders: ReadonlySet<string>
  /** lower-case names of the signed stamp header(s) */
  stampHeaders?: ReadonlySet<string>
  /** our authserv-id: A-R fields claiming it, in any spelling, are forged (RFC 8601 §5); so are A-R whose id cannot be read */
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

/** Fields that carry (or claim to carry) our stamp: identity and stamp headers, A-R with our authserv-id (or an unreadable one). */
export function ourFields(fields: readonly string[], rule: ForgeryRule): OurField[] {
  const out: OurField[] = []
  const pending = unfold(rule.pendingAuthResults ?? '')
  let pendingAt = -1
  if (pending) {
    for (let i = fields.length - 1; i >= 0; i--) {
      if (fieldName(fields[i]!) === 'authentication-results' && fieldValue(fields[i]!) === pending) {
        pendingAt = i
        break
      }
    }
  }
  const ours = canonicalAuthservId(rule.authservId)
  const claimsOurs = (value: string) => {
    const id = authservIdOf(value)
    return id === null || id === ours
  }
  fields.forEach((field, index) => {
    const name = fieldName(field)
    if (rule.identityHeaders.has(name)) out.push({ index, name, kind: 'identity' })
    else if (rule.stampHeaders?.has(name)) out.push({ index, name, kind: 'stamp' })
    else if (AR_NAMES.has(name) && index !== pendingAt && claimsOurs(fieldValue(field))) {
      out.push({ index, name, kind: 'auth_results' })
    }
  })
  return out
}
