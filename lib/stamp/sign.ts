// The signed stamp: a header field an internal downstream hop (or a second
// Haraka with auth_stamp in verify mode, or `npm run verify-stamp`) can check.
//
//   X-Auth-Stamp: v=2; kid=<key id>; t=<unix seconds>; u=<login>;
//   	f=<envelope sender>; bh=<body hash>; s=<base64url HMAC-SHA256>
//
// The MAC covers, in one canonical JSON array (so no field boundary can move):
//   ["auth-stamp", 2, kid, t, login, envelope sender, body hash,
//    [["from", [values]], ["sender", [values]], ... one entry per SIGNED_FIELDS name]]
// Each signed field's values are taken from every field of that name, in
// order (none: an empty list, so adding one breaks the MAC), unfolded, runs
// of white space collapsed to one space, and trimmed. The body hash is
// lib/stamp/body's (bh= carries it, so a verifier can say the body changed).
// A stamp is never made for a message without exactly one Message-ID and one
// Date (signingObstacle): without them it would fit every message of that
// sender with the same signed fields and body. `u` and `f` are
// percent-encoded UTF-8 (only `%`, `;`, white space, controls, non-ASCII and
// RFC 5322 specials are encoded); white space inside u, f, bh and s is
// ignored, so a hop may refold the field.
//
// Version 1 (login, sender, Message-ID, Date and time only) is no longer
// accepted: it verified on any message with the same Message-ID and Date.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { canonicalFieldValue, fieldName, rawFieldValue } from '../mail/fields'
import { safeForLog } from '../text'

const STAMP_VERSION = 2
/** A stamp dated more than this far in the future is refused (clock skew between hops). */
const FUTURE_SKEW_SECONDS = 300
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

/**
 * The header fields the MAC covers (lower-case), in this order: who wrote it
 * and to whom, what it is about, which message it is, and how its body is to
 * be read (the body hash alone would let Content-Type be changed to show
 * other parts of the same bytes).
 */
export const SIGNED_FIELDS = [
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'subject',
  'date',
  'message-id',
  'in-reply-to',
  'references',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
] as const

/** Every SIGNED_FIELDS name with the canonical values of its fields, in order. */
export type SignedHeaders = ReadonlyArray<readonly [string, readonly string[]]>

/** What the MAC binds of the message itself. */
export interface MessageFacts {
  headers: SignedHeaders
  /** lib/stamp/body's bodyHash of the message body */
  bodyHash: string
}

/** What the MAC binds besides the key id and the time. */
export interface StampFacts extends MessageFacts {
  login: string
  /** envelope sender, '' for the null sender */
  mailFrom: string
}

/** The signed fields of a message's header fields (Haraka's header_list or a parsed .eml). */
export function signedHeaders(fields: readonly string[]): SignedHeaders {
  const values = new Map<string, string[]>(SIGNED_FIELDS.map((name) => [name, []]))
  for (const field of fields) values.get(fieldName(field))?.push(canonicalFieldValue(field))
  return SIGNED_FIELDS.map((name) => [name, values.get(name)!] as const)
}

export function messageFacts(fields: readonly string[], bodyHash: string): MessageFacts {
  return { headers: signedHeaders(fields), bodyHash }
}

/** Why a message cannot be signed: a stamp needs exactly one Message-ID and one Date, not empty. */
export type SignObstacle = 'no_message_id' | 'several_message_ids' | 'no_date' | 'several_dates'

function obstacleOf(headers: SignedHeaders): SignObstacle | undefined {
  const one = (name: string, none: SignObstacle, several: SignObstacle) => {
    const values = headers.find(([n]) => n === name)?.[1] ?? []
    if (values.length > 1) return several
    return values.length === 0 || values[0] === '' ? none : undefined
  }
  return one('message-id', 'no_message_id', 'several_message_ids') ?? one('date', 'no_date', 'several_dates')
}

/** Undefined when the message has what a stamp needs, else why not. */
export function signingObstacle(fields: readonly string[]): SignObstacle | undefined {
  return obstacleOf(signedHeaders(fields))
}

export function canonicalInput(kid: string, t: number, facts: StampFacts): string {
  const headers = facts.headers.map(([name, values]) => [name, [...values]])
  const { login, mailFrom, bodyHash } = facts
  return JSON.stringify(['auth-stamp', STAMP_VERSION, kid, t, login, mailFrom, bodyHash, headers])
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

const BASE64URL_SHA256 = /^[A-Za-z0-9_-]{43}$/

/** The tags of a new stamp, in order. Throws for a message without one Message-ID and one Date. */
export function stampTags(key: StampKey, facts: StampFacts, t: number): string[] {
  const obstacle = obstacleOf(facts.headers)
  if (obstacle) throw new Error(`refusing to sign a message with ${obstacle.replace(/_/g, ' ')}`)
  if (!BASE64URL_SHA256.test(facts.bodyHash)) throw new Error('refusing to sign without a body hash')
  const s = key.mac(canonicalInput(key.id, t, facts)).toString('base64url')
  return [
    `v=${STAMP_VERSION}`,
    `kid=${key.id}`,
    `t=${t}`,
    `u=${encodeTagValue(facts.login)}`,
    `f=${encodeTagValue(facts.mailFrom)}`,
    `bh=${facts.bodyHash}`,
    `s=${s}`,
  ]
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
  /** the signature is right but the body is not the one signed */
  | 'body_hash_mismatch'
  /** the body could not be read to check it */
  | 'body_unreadable'
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

const TAGS = ['v', 'kid', 't', 'u', 'f', 'bh', 's'] as const
type Tag = (typeof TAGS)[number]

function fail(reason: VerifyFailure, detail: string): Verdict {
  return { valid: false, reason, detail }
}

/** Split a stamp value into its tags; a string is the reason it is malformed. */
function parseTags(value: string): Record<Tag, string> | string {
  const unfolded = value.replace(/\r?\n(?=[ \t])/g, '')
  const parts = unfolded.split(';').map((p) => p.trim())
  if (parts[parts.length - 1] === '') parts.pop() // a trailing `;` is allowed
  const tags: Partial<Record<Tag, string>> = {}
  for (const part of parts) {
    const m = /^([A-Za-z]+)[ \t]*=[ \t]*([\s\S]*)$/.exec(part)
    if (!m) return `not a tag=value list (${safeForLog(part.slice(0, 40))})`
    const name = m[1]!.toLowerCase()
    if (!(TAGS as readonly string[]).includes(name)) return `unknown tag ${name}`
    if (name in tags) return `tag ${name} given twice`
    tags[name as Tag] = m[2]!
  }
  for (const name of TAGS) if (!(name in tags)) return `tag ${name} missing`
  return tags as Record<Tag, string>
}

/**
 * What verification reads of the message a stamp travels in; bodyHash
 * undefined: the body could not be read (the stamp then fails as body_unreadable).
 */
export interface VerifiedMessage {
  headers: SignedHeaders
  bodyHash: string | undefined
}

/** Check one stamp value against the message it travels in. */
export function verifyStamp(value: string, message: VerifiedMessage, ctx: VerifyContext): Verdict {
  const tags = parseTags(value)
  if (typeof tags === 'string') return fail('malformed', tags)
  if (tags.v !== String(STAMP_VERSION)) {
    const old =
      tags.v === '1'
        ? ' (version 1 covered neither the body nor From, To and Subject, and is no longer accepted)'
        : ''
    return fail('unsupported_version', `version ${JSON.stringify(tags.v.slice(0, 10))}${old}`)
  }
  if (!KEY_ID.test(tags.kid)) return fail('malformed', 'kid is not a key id')
  if (!/^\d{1,12}$/.test(tags.t)) return fail('malformed', 't is not a unix time')
  const login = decodeTagValue(tags.u)
  const mailFrom = decodeTagValue(tags.f)
  if (login === undefined || login === '') return fail('malformed', 'u is not a percent-encoded login')
  if (mailFrom === undefined) return fail('malformed', 'f is not a percent-encoded address')
  const signedBodyHash = tags.bh.replace(/[ \t\r\n]+/g, '')
  if (!BASE64URL_SHA256.test(signedBodyHash)) return fail('malformed', 'bh is not a base64url SHA-256')
  const sig = tags.s.replace(/[ \t\r\n]+/g, '')
  if (!BASE64URL_SHA256.test(sig)) return fail('malformed', 's is not a base64url HMAC-SHA256')
  const key = ctx.keys.find((k) => k.id === tags.kid)
  if (!key) return fail('unknown_kid', `no key with kid=${tags.kid}`)

  const t = Number(tags.t)
  const signed = { login, mailFrom, bodyHash: signedBodyHash, headers: message.headers }
  const expected = key.mac(canonicalInput(key.id, t, signed))
  const given = Buffer.from(sig, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return fail(
      'bad_signature',
      `signature does not match (kid=${key.id}): login, sender, time, a signed header field ` +
        '(From, To, Cc, Subject, Date, Message-ID, ...) changed, or another key',
    )
  }
  if (message.bodyHash === undefined)
    return fail('body_unreadable', 'the body could not be read to check bh=')
  if (message.bodyHash !== signedBodyHash)
    return fail('body_hash_mismatch', 'the body is not the one signed (bh= differs)')
  if (t > ctx.now + FUTURE_SKEW_SECONDS)
    return fail('future_timestamp', `dated ${t - ctx.now} s in the future`)
  if (ctx.maxAge > 0 && ctx.now - t > ctx.maxAge)
    return fail('expired', `${ctx.now - t} s old, max_age is ${ctx.maxAge} s`)
  if (ctx.mailFrom !== undefined && ctx.mailFrom.toLowerCase() !== mailFrom.toLowerCase()) {
    return fail('mailfrom_mismatch', `stamp names sender <${mailFrom}>, envelope has <${ctx.mailFrom}>`)
  }
  return { valid: true, kid: key.id, login, mailFrom, timestamp: t }
}

/** The stamp fields of a message (by lower-case name) and the verdict on them: exactly one must verify. */
export function verifyMessage(
  message: { fields: readonly string[]; bodyHash: string | undefined },
  stampNames: ReadonlySet<string>,
  ctx: VerifyContext,
): { verdict: Verdict; indexes: number[] } {
  const { fields } = message
  const indexes: number[] = []
  fields.forEach((f, i) => {
    if (stampNames.has(fieldName(f))) indexes.push(i)
  })
  if (indexes.length === 0) return { verdict: fail('no_stamp', 'no stamp header'), indexes }
  if (indexes.length > 1)
    return { verdict: fail('several_stamps', `${indexes.length} stamp headers`), indexes }
  return {
    verdict: verifyStamp(
      rawFieldValue(fields[indexes[0]!]!),
      { headers: signedHeaders(fields), bodyHash: message.bodyHash },
      ctx,
    ),
    indexes,
  }
}
