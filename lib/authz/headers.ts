// Header alignment for authenticated submissions: every From: address and the
// Sender: address must be the login's, and several From addresses need a
// Sender (RFC 5322 §3.6.2). Fields are found the way a mail reader finds them:
// names case-insensitive, the obsolete white space before the colon
// ("From : bob@") included, every copy of the field. Addresses are parsed with
// @haraka/email-address (Haraka's own RFC 5322 parser). That parser is super-linear on
// long phrases (a 240 KB display name held the one Haraka thread for over 12 s),
// so the fields are bounded before it sees them (identitySizeProblem), and the
// addresses before they are looked up (addressCountProblem).
// A field whose name is
// malformed (a control or non-ASCII character in it, no colon: see
// lib/mail/fields) makes the whole message unreadable here: another reader
// may take "From\x00:" or "\u017Fender:" for From or Sender, so it is refused,
// whatever the name, rather than guessed at.
import { parseHeader } from '@haraka/email-address'
import { fieldName, fieldNameForLog, fieldValue, isMalformedField } from '../mail/fields'

export type IdentityHeaders =
  | {
      ok: true
      /** addr-spec of every From: mailbox, in order, as `local@domain` */
      from: string[]
      sender: string[]
    }
  | { ok: false; problem: 'unparseable' | 'malformed_field_name'; detail: string }

function mailboxes(value: string, single: boolean): string[] {
  const list = parseHeader(value, { startAt: single ? 'mailbox' : 'mailbox-list' })
  return list.map((item) => {
    if ('addresses' in item) throw new Error('a group is not a mailbox')
    return `${item.user}@${item.host}`
  })
}

export function readIdentityHeaders(fields: readonly string[]): IdentityHeaders {
  const from: string[] = []
  const sender: string[] = []
  let senderFields = 0
  const malformed = fields.find(isMalformedField)
  if (malformed !== undefined) {
    return { ok: false, problem: 'malformed_field_name', detail: `field name ${fieldNameForLog(malformed)}` }
  }
  for (const field of fields) {
    const name = fieldName(field)
    if (name !== 'from' && name !== 'sender') continue
    let found: string[]
    try {
      found = mailboxes(fieldValue(field), name === 'sender')
    } catch (err) {
      const detail = `${name === 'from' ? 'From' : 'Sender'}: ${(err as Error).message}`
      return { ok: false, problem: 'unparseable', detail }
    }
    if (name === 'from') from.push(...found)
    else {
      sender.push(...found)
      senderFields++
    }
  }
  if (senderFields > 1) {
    return { ok: false, problem: 'unparseable', detail: 'more than one Sender field' }
  }
  return { ok: true, from, sender }
}

export interface IdentityBounds {
  /** From and Sender fields together, as received (names and folds included) */
  maxBytes: number
  /** From and Sender mailboxes together: each may cost directory searches */
  maxAddresses: number
}

export interface BoundsProblem {
  problem: 'too_large' | 'too_many_addresses'
  detail: string
}

const isIdentityField = (field: string) => {
  const name = fieldName(field)
  return name === 'from' || name === 'sender'
}

/**
 * Before parsing: the From and Sender fields together are at most `maxBytes`.
 * At the default 8 KB the slowest phrase we found parses in about 10 ms; a
 * message holds up to ~1 MB of them (Haraka reads 1000 header lines of 992 bytes).
 */
export function identitySizeProblem(fields: readonly string[], bounds: IdentityBounds): BoundsProblem | null {
  let bytes = 0
  let count = 0
  for (const field of fields) {
    if (!isIdentityField(field)) continue
    bytes += Buffer.byteLength(field)
    count++
  }
  if (bytes <= bounds.maxBytes) return null
  return {
    problem: 'too_large',
    detail: `From/Sender fields are ${bytes} bytes (${count} field(s)), over the limit of ${bounds.maxBytes}`,
  }
}

/** After parsing, before any directory lookup: at most `maxAddresses` From and Sender mailboxes. */
export function addressCountProblem(headers: IdentityHeaders, bounds: IdentityBounds): BoundsProblem | null {
  if (!headers.ok) return null
  const n = headers.from.length + headers.sender.length
  if (n <= bounds.maxAddresses) return null
  const detail = `${n} From/Sender addresses, over the limit of ${bounds.maxAddresses}`
  return { problem: 'too_many_addresses', detail }
}

export type Alignment =
  | { ok: true }
  | {
      ok: false
      problem:
        'unparseable' | 'malformed_field_name' | 'from_not_owned' | 'sender_not_owned' | 'sender_required'
      detail: string
    }

/** Judge the headers against the login's ownership (already resolved for every address). */
export function judgeAlignment(headers: IdentityHeaders, owns: (address: string) => boolean): Alignment {
  if (!headers.ok) return { ok: false, problem: headers.problem, detail: headers.detail }
  const foreignFrom = headers.from.find((a) => !owns(a))
  if (foreignFrom !== undefined)
    return { ok: false, problem: 'from_not_owned', detail: `From: ${foreignFrom}` }
  const foreignSender = headers.sender.find((a) => !owns(a))
  if (foreignSender !== undefined)
    return { ok: false, problem: 'sender_not_owned', detail: `Sender: ${foreignSender}` }
  if (headers.from.length > 1 && headers.sender.length === 0) {
    return {
      ok: false,
      problem: 'sender_required',
      detail: `${headers.from.length} From addresses and no Sender`,
    }
  }
  return { ok: true }
}

/** Every address the judgement needs ownership for, once each. */
export function addressesToCheck(headers: IdentityHeaders): string[] {
  return headers.ok ? [...new Set([...headers.from, ...headers.sender])] : []
}

/** Indexes of the Sender fields in the header list: add_sender replaces them all, readable or not. */
export function senderFieldIndexes(fields: readonly string[]): number[] {
  return fields.flatMap((field, i) => (fieldName(field) === 'sender' ? [i] : []))
}
