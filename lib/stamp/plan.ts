// What auth_stamp does to one message, decided without Haraka: which fields
// to remove, whose identity to stamp, which headers to add (what it records: ./results).
import { randomBytes } from 'node:crypto'
import { fieldName, fieldNameForLog, isMalformedField } from '../mail/fields'
import { inNetworks } from '../net/networks'
import { withoutControls } from '../text'
import type { StampConfig } from './config'
import { ourFields } from './fields'
import {
  messageFacts,
  signingObstacle,
  stampValue,
  verifyMessage,
  type SignObstacle,
  type Verdict,
} from './sign'

export interface MessageContext {
  /** the session's authenticated login, if any */
  login?: string
  /** envelope sender, '' for the null sender */
  mailFrom: string
  /** our authserv-id (Haraka's config/me), lower-case */
  authservId: string
  /** the Authentication-Results value Haraka appended at the end of DATA */
  pendingAuthResults?: string
  /** unix seconds */
  now: number
  /** the client's IP (the hop relaying to us), for verify_peers */
  peerIp?: string
  /** lib/stamp/body's hash of the message body, when verifyNeedsBody; undefined: not read or unreadable */
  bodyHash?: string
}

export interface Inspection {
  /** field indexes to remove */
  remove: number[]
  /** removed fields per lower-case name, in order of first appearance (malformed names not included) */
  removed: Array<[string, number]>
  /** the names (as fieldNameForLog shows them) of the fields removed because their name is malformed */
  malformed: string[]
  /** the verify-mode verdict on the message's stamp (unauthenticated sessions only) */
  verdict?: Verdict
  /** whose identity the message is stamped with: the session's login, or the login of a verified stamp */
  identity?: { login: string; source: 'session' | 'stamp' }
}

/**
 * Every identity header is removed, whoever sent it. A stamp header is
 * removed too, except in verify mode on mail from an unauthenticated session
 * (an upstream hop, in verify_peers when that is set) when there is exactly
 * one and it verifies. A-R fields that
 * claim our authserv-id are removed; other servers' are kept. A field whose
 * name is malformed (lib/mail/fields: not ftext, no colon) is removed too,
 * since a reader that trims or folds it differently could take it for one of
 * ours (or for From).
 */
export function inspectMessage(fields: readonly string[], cfg: StampConfig, ctx: MessageContext): Inspection {
  const ours = ourFields(fields, {
    identityHeaders: cfg.identityNames,
    stampHeaders: cfg.stampNames,
    authservId: ctx.authservId,
    pendingAuthResults: ctx.pendingAuthResults,
  })
  let verdict: Verdict | undefined
  let keep = -1
  if (cfg.verify && !ctx.login) {
    const checked = verifyMessage(
      { fields, bodyHash: ctx.bodyHash },
      new Set([cfg.stamp_header.toLowerCase()]),
      {
        keys: cfg.verifyKeys,
        now: ctx.now,
        maxAge: cfg.max_age,
        mailFrom: ctx.mailFrom,
      },
    )
    verdict = checked.verdict
    const hasStamp = verdict.valid || verdict.reason !== 'no_stamp'
    if (hasStamp && cfg.verifyPeers.length && !inNetworks(ctx.peerIp ?? '', cfg.verifyPeers)) {
      verdict = {
        valid: false,
        reason: 'untrusted_peer',
        detail: `peer ${ctx.peerIp || '(unknown)'} is not in verify_peers`,
      }
    }
    if (verdict.valid) keep = checked.indexes[0]!
  }
  const remove = ours.filter((f) => f.index !== keep)
  const counts = new Map<string, number>()
  for (const f of remove) counts.set(f.name, (counts.get(f.name) ?? 0) + 1)
  // disjoint from ours: a malformed field has no name there
  const malformed = fields.flatMap((f, index) => (isMalformedField(f) ? [index] : []))

  let identity: Inspection['identity']
  if (ctx.login) identity = { login: ctx.login, source: 'session' }
  else if (verdict?.valid) identity = { login: verdict.login, source: 'stamp' }
  return {
    remove: [...remove.map((f) => f.index), ...malformed].sort((a, b) => a - b),
    removed: [...counts],
    malformed: malformed.map((i) => fieldNameForLog(fields[i]!)),
    verdict,
    identity,
  }
}

/** The log line for the fields removed for a malformed name (five named at most); undefined when none. */
export function malformedFieldsNote(found: Inspection): string | undefined {
  const n = found.malformed.length
  if (!n) return undefined
  // fieldNameForLog leaves only printable ASCII: safe for a log line as it is
  const names = found.malformed.slice(0, 5).map((name) => JSON.stringify(name))
  const more = n > 5 ? ', ...' : ''
  return `removed ${n} field(s) with a malformed name (not RFC 5322 ftext): ${names.join(', ')}${more}`
}

/**
 * Whether inspectMessage will check a stamp of this message, so the hook must
 * hash the body first: verify mode, an unauthenticated session, a stamp field
 * under stamp_header, from a peer in verify_peers (or any peer when it is empty).
 */
export function verifyNeedsBody(
  fields: readonly string[],
  cfg: StampConfig,
  ctx: Pick<MessageContext, 'login' | 'peerIp'>,
): boolean {
  if (!cfg.verify || ctx.login) return false
  if (cfg.verifyPeers.length && !inNetworks(ctx.peerIp ?? '', cfg.verifyPeers)) return false
  const name = cfg.stamp_header.toLowerCase()
  return fields.some((f) => fieldName(f) === name)
}

export interface NewHeader {
  name: string
  value: string
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** An RFC 5322 §3.3 date-time in UTC: `Tue, 01 Dec 2026 09:00:00 +0000`. */
export function rfc5322Date(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000)
  const two = (n: number) => String(n).padStart(2, '0')
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`
  return `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${time} +0000`
}

// RFC 5322 §3.6.4 id-right as dot-atom-text
const DOT_ATOM_TEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/

/**
 * A new Message-ID, `<time.random@host>`: 128 random bits make it unique;
 * host is our name (config/me), or `localhost.invalid` if that is not a dot-atom.
 */
export function newMessageId(host: string, unixSeconds: number, random: Buffer = randomBytes(16)): string {
  const right = DOT_ATOM_TEXT.test(host) ? host.toLowerCase() : 'localhost.invalid'
  return `<${unixSeconds.toString(36)}.${random.toString('hex')}@${right}>`
}

/**
 * RFC 6409 §8.2 and §8.3: the Date and Message-ID a submission lacks (no
 * field of that name at all), to add at the end of its header before it is
 * signed. A field that is there, even empty or twice, is left as it is (and
 * then keeps the message from being signed: signingObstacle).
 */
export function missingSubmissionFields(
  fields: readonly string[],
  opts: { host: string; now: number },
): NewHeader[] {
  const names = new Set(fields.map(fieldName))
  const out: NewHeader[] = []
  if (!names.has('date')) out.push({ name: 'Date', value: rfc5322Date(opts.now) })
  if (!names.has('message-id')) out.push({ name: 'Message-ID', value: newMessageId(opts.host, opts.now) })
  return out
}

/**
 * Whether the hook signs this message: sign mode, a key, the session's own
 * login; `obstacle` when the message lacks what a stamp needs (results
 * `fail: sign(<obstacle>)`).
 */
export function signPlan(
  cfg: StampConfig,
  identity: NonNullable<Inspection['identity']>,
  fields: readonly string[],
): { sign: boolean; obstacle?: SignObstacle; detail?: string } {
  if (!cfg.sign || !cfg.signingKey || identity.source !== 'session') return { sign: false }
  const obstacle = signingObstacle(fields)
  if (!obstacle) return { sign: true }
  const why = cfg.add_date_message_id ? '' : ' (add_date_message_id=false)'
  return { sign: false, obstacle, detail: `not signed: the message has ${OBSTACLE_TEXT[obstacle]}${why}` }
}

const OBSTACLE_TEXT: Record<SignObstacle, string> = {
  no_message_id: 'no Message-ID',
  several_message_ids: 'more than one Message-ID',
  no_date: 'no Date',
  several_dates: 'more than one Date',
}

/**
 * Headers to add with add_leading_header, in this order (so the last one ends
 * up on top): the identity header, then the signed stamp (sign mode, on mail
 * from an authenticated session only, given the body hash and when signPlan
 * allows it).
 */
export function headersToAdd(
  cfg: StampConfig,
  opts: {
    identityValue: string
    identity: NonNullable<Inspection['identity']>
    mailFrom: string
    fields: readonly string[]
    now: number
    bodyHash?: string
  },
): NewHeader[] {
  const out: NewHeader[] = [{ name: cfg.identity_header, value: withoutControls(opts.identityValue) }]
  if (signPlan(cfg, opts.identity, opts.fields).sign && opts.bodyHash !== undefined) {
    const facts = {
      ...messageFacts(opts.fields, opts.bodyHash),
      login: opts.identity.login,
      mailFrom: opts.mailFrom,
    }
    out.push({
      name: cfg.stamp_header,
      value: stampValue(cfg.stamp_header, cfg.signingKey!, facts, opts.now),
    })
  }
  return out
}
