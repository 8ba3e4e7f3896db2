// The signed stamp: a header field an internal downstream hop (or a second
// Haraka with auth_stamp in verify mode, or `npm run verify-stamp`) can check.
//
//   X-Auth-Stamp: v=1; kid=<key id>; t=<unix seconds>; u=<login>;
//   	f=<envelope sender>; s=<base64url HMAC-SHA256>
//
// The MAC covers, in one canonical JSON array (so no field boundary can move):
//   ["auth-stamp", 1, kid, t, login, envelope sender, [Message-ID values], [Date values]]
// Message-ID and Date values are taken from every field of that name, in order,
// unfolded, runs of white space collapsed to one space, and trimmed. `u` and `f`
// are percent-encoded UTF-8 (only `%`, `;`, white space, controls, non-ASCII and
// RFC 5322 specials are encoded); white space inside u, f and s is ignored, so a
// hop may refold the field.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { canonicalFieldValue, fieldName } from '../message/fields'

export const STAMP_VERSION = 1
/** A stamp dated more than this far in the future is refused (clock skew between hops). */
export const FUTURE_SKEW_SECONDS = 300
export const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/
export const MIN_SECRET_BYTES = 32

/** A key id and its secret. The secret is a private field: no log, JSON or inspect shows it. */
export class StampKey {
  readonly #secret: Buffer
  constructor(
    readonly id: string,
    secret: Buffer,
  ) {
    this.#secret = Buffer.from(secret)
  }
  mac(data: string): Buffer {
    return createHmac('sha256', this.#secret).update(data, 'utf8').digest()
  }
  toJSON(): { id: string } {
    return { id: this.id }
  }
}

/** What the MAC binds besides the key id and the time. */
export interface StampFacts {
  login: string
  /** envelope sender, '' for the null sender */
  mailFrom: string
  messageIds: readonly string[]
  dates: readonly string[]
}

/** Message-ID and Date values of a message's header fields (Haraka's header_list or a parsed .eml). */
export function messageFacts(fields: readonly string[]): Pick<StampFacts, 'messageIds' | 'dates'> {
  const messageIds: string[] = []
  const dates: string[] = []
  for (const field of fields) {
    const name = fieldName(field)
    if (name === 'message-id') messageIds.push(canonicalFieldValue(field))
    else if (name === 'date') dates.push(canonicalFieldValue(field))
  }
  return { messageIds, dates }
}

export function canonicalInput(kid: string, t: number, facts: StampFacts): string {
  return JSON.stringify(['auth-stamp', STAMP_VERSION, kid, t, facts.login, facts.mailFrom, [...facts.messageIds], [...facts.dates]])
}

// Printable ASCII that is safe inside a tag value: no `%`, `;`, `"`, `(`, `)`, `,`, `:`, `<`, `>`, `[`, `]`, `\`, space.
const SAFE = /^[A-Za-z0-9!#$&'*+\-./=?@^_`{|}~]$/

export function encodeTagValue(value: string): string {
  let out = ''
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte)
    out += byte < 0x80 && SAFE.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** Inverse of encodeTagValue; undefined when the text is not a valid encoding of UTF-8. */
export function decodeTagValue(text: string): string | undefined {
  const compact = text.replace(/[ \t\r\n]+/g, '')
  const bytes: number[] = []
  for (let i = 0; i < compact.length; i++) {
    const ch = compact[i]!
    if (ch === '%') {
      const hex = compact.slice(i + 1, i + 3)
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined
      bytes.push(parseInt(hex, 16))
      i += 2
    } else if (SAFE.test(ch)) {
      bytes.push(ch.charCodeAt(0))
    } else {
      return undefined
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(bytes))
  } catch {
    return undefined
  }
}

/** The tags of a new stamp, in order. */
export function stampTags(key: StampKey, facts: StampFacts, t: number): string[] {
  const s = key.mac(canonicalInput(key.id, t, facts)).toString('base64url')
  return [`v=${STAMP_VERSION}`, `kid=${key.id}`, `t=${t}`, `u=${encodeTagValue(facts.login)}`, `f=${encodeTagValue(facts.mailFrom)}`, `s=${s}`]
}

const LINE = 78

/**
 * Join tags with `; ` and fold (CRLF + tab) so lines stay within 78 characters
 * where a tag allows it; a tag longer than a line is split inside its value
 * (white space there is ignored when the stamp is read).
 */
export function foldTags(headerName: string, tags: readonly string[]): string {
  const lines: string[] = []
  let line = ''
  let used = headerName.length + 2 // "Name: " precedes the first line
  const breakLine = () => {
    lines.push(line)
    line = ''
    used = 1 // a continuation line starts with a tab
  }
  tags.forEach((tag, i) => {
    let piece = i < tags.length - 1 ? `${tag};` : tag
    if (line) {
      if (used + 1 + piece.length <= LINE) {
        line += ` ${piece}`
        used += 1 + piece.length
        return
      }
      breakLine()
    }
    while (used + piece.length > LINE && LINE - used > 0) {
      const room = LINE - used
      line = piece.slice(0, room)
      piece = piece.slice(room)
      breakLine()
    }
    line = piece
    used += piece.length
  })
  if (line) lines.push(line)
  return lines.join('\r\n\t')
}

export function stampValue(headerName: string, key: StampKey, facts: StampFacts, t: number): string {
  return foldTags(headerName, stampTags(key, facts, t))
}

export type VerifyFailure =
  | 'no_stamp'
  | 'several_stamps'
  | 'malformed'
  | 'unsupported_version'
  | 'unknown_kid'
  | 'bad_signature'
  | 'expired'
  | 'future_timestamp'
  | 'mailfrom_mismatch'
  /** auth_stamp's verify_peers: the stamp came from a peer whose stamps are not checked */
  | 'untrusted_peer'

export type Verdict =
  | { valid: true; kid: string; login: string; mailFrom: string; timestamp: number }
  | { valid: false; reason: VerifyFailure; detail: string }

export interface VerifyContext {
  keys: readonly StampKey[]
  now: number
  /** seconds; 0 = no limit */
  maxAge: number
  /** the envelope sender the stamp must name ('' = null sender); undefined: not checked */
  mailFrom?: string
}

const TAGS = ['v', 'kid', 't', 'u', 'f', 's'] as const
type Tag = (typeof TAGS)[number]

function fail(reason: VerifyFailure, detail: string): Verdict {
  return { valid: false, reason, detail }
}

/** Split a stamp value into its tags; a string is the reason it is malformed. */
export function parseTags(value: string): Record<Tag, string> | string {
  const unfolded = value.replace(/\r?\n(?=[ \t])/g, '')
  const parts = unfolded.split(';').map((p) => p.trim())
  if (parts[parts.length - 1] === '') parts.pop() // a trailing `;` is allowed
  const tags: Partial<Record<Tag, string>> = {}
  for (const part of parts) {
    const m = /^([A-Za-z]+)[ \t]*=[ \t]*([\s\S]*)$/.exec(part)
    if (!m) return `not a tag=value list (${JSON.stringify(part.slice(0, 40))})`
    const name = m[1]!.toLowerCase()
    if (!(TAGS as readonly string[]).includes(name)) return `unknown tag ${name}`
    if (name in tags) return `tag ${name} given twice`
    tags[name as Tag] = m[2]!
  }
  for (const name of TAGS) if (!(name in tags)) return `tag ${name} missing`
  return tags as Record<Tag, string>
}

/** Check one stamp value against the message it travels in. */
export function verifyStamp(value: string, facts: Pick<StampFacts, 'messageIds' | 'dates'>, ctx: VerifyContext): Verdict {
  const tags = parseTags(value)
  if (typeof tags === 'string') return fail('malformed', tags)
  if (tags.v !== String(STAMP_VERSION)) return fail('unsupported_version', `version ${JSON.stringify(tags.v.slice(0, 10))}`)
  if (!KEY_ID.test(tags.kid)) return fail('malformed', 'kid is not a key id')
  if (!/^\d{1,12}$/.test(tags.t)) return fail('malformed', 't is not a unix time')
  const login = decodeTagValue(tags.u)
  const mailFrom = decodeTagValue(tags.f)
  if (login === undefined || login === '') return fail('malformed', 'u is not a percent-encoded login')
  if (mailFrom === undefined) return fail('malformed', 'f is not a percent-encoded address')
  const sig = tags.s.replace(/[ \t\r\n]+/g, '')
  if (!/^[A-Za-z0-9_-]{43}$/.test(sig)) return fail('malformed', 's is not a base64url HMAC-SHA256')
  const key = ctx.keys.find((k) => k.id === tags.kid)
  if (!key) return fail('unknown_kid', `no key with kid=${tags.kid}`)

  const t = Number(tags.t)
  const expected = key.mac(canonicalInput(key.id, t, { login, mailFrom, messageIds: facts.messageIds, dates: facts.dates }))
  const given = Buffer.from(sig, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return fail('bad_signature', `signature does not match (kid=${key.id}): login, sender, Message-ID, Date or time changed, or another key`)
  }
  if (t > ctx.now + FUTURE_SKEW_SECONDS) return fail('future_timestamp', `dated ${t - ctx.now} s in the future`)
  if (ctx.maxAge > 0 && ctx.now - t > ctx.maxAge) return fail('expired', `${ctx.now - t} s old, max_age is ${ctx.maxAge} s`)
  if (ctx.mailFrom !== undefined && ctx.mailFrom.toLowerCase() !== mailFrom.toLowerCase()) {
    return fail('mailfrom_mismatch', `stamp names sender <${mailFrom}>, envelope has <${ctx.mailFrom}>`)
  }
  return { valid: true, kid: key.id, login, mailFrom, timestamp: t }
}

/** The stamp fields of a message (by lower-case name) and the verdict on them: exactly one must verify. */
export function verifyMessage(
  fields: readonly string[],
  stampNames: ReadonlySet<string>,
  ctx: VerifyContext,
): { verdict: Verdict; indexes: number[] } {
  const indexes: number[] = []
  fields.forEach((f, i) => {
    if (stampNames.has(fieldName(f))) indexes.push(i)
  })
  if (indexes.length === 0) return { verdict: fail('no_stamp', 'no stamp header'), indexes }
  if (indexes.length > 1) return { verdict: fail('several_stamps', `${indexes.length} stamp headers`), indexes }
  const field = fields[indexes[0]!]!
  const value = field.slice(field.indexOf(':') + 1)
  return { verdict: verifyStamp(value, messageFacts(fields), ctx), indexes }
}
