// "May this recipient be accepted?" for one RCPT, as pure decisions: first
// what the recipient is (a trick, one of ours, or somewhere else), then, for
// somewhere else, whether this session may relay.
import type { Decision } from '../decisions'
import { canonicalDomain } from '../mail/address'
import { addressLiteralIp, normaliseIp } from '../net/ip'
import { relayTrickReply, REPLIES, type Reply } from '../replies'
import { findTrick, TRICK_TEXT, type Trick } from './tricks'

type LocalRule = 'local_domain' | 'postmaster' | 'local_address_literal'

export type RcptTarget =
  | { kind: 'trick'; trick: Trick }
  | { kind: 'local'; rule: LocalRule }
  | { kind: 'remote'; addressLiteral: boolean }

export interface RcptInput {
  /** the path as the client wrote it (Address.original), e.g. `<@a:user@b>` */
  path: string
  /** local part as parsed */
  user: string
  /** domain as parsed ('' for the bare `<postmaster>`) */
  domain: string
}

export interface LocalIdentity {
  domains: ReadonlySet<string>
  /** our own IP addresses besides the listening one (local_ips), in ipaddr.process() form */
  ips: ReadonlySet<string>
  /** the address the session came in on, as the socket gives it */
  listening: string
}

export function classifyRcpt(rcpt: RcptInput, local: LocalIdentity): RcptTarget {
  const trick = findTrick(rcpt.path)
  if (trick) return { kind: 'trick', trick }
  const domain = canonicalDomain(rcpt.domain)
  // RFC 5321 §4.5.1: the bare <postmaster> must be accepted.
  if (!domain)
    return rcpt.user.toLowerCase() === 'postmaster'
      ? { kind: 'local', rule: 'postmaster' }
      : { kind: 'remote', addressLiteral: false }
  if (domain.startsWith('[')) {
    const ip = addressLiteralIp(domain)
    if (ip && (local.ips.has(ip) || ip === normaliseIp(local.listening)))
      return { kind: 'local', rule: 'local_address_literal' }
    return { kind: 'remote', addressLiteral: true }
  }
  if (local.domains.has(domain)) return { kind: 'local', rule: 'local_domain' }
  return { kind: 'remote', addressLiteral: false }
}

export type RelayRule = 'authenticated' | 'trusted_network' | 'pop_before_smtp'

/** Who may send to a remote recipient; null means relaying is denied. */
export function relayRule(who: {
  authenticated: boolean
  trustedNetwork: boolean
  popBeforeSmtp: boolean
}): RelayRule | null {
  if (who.authenticated) return 'authenticated'
  if (who.trustedNetwork) return 'trusted_network'
  if (who.popBeforeSmtp) return 'pop_before_smtp'
  return null
}

export type RcptReason =
  Trick | LocalRule | 'local_user' | 'unknown_user' | RelayRule | 'relay_denied' | 'directory_unavailable'

/** A decision on one recipient; `relaying`: the session may relay from now on (a trusted network, a grant). */
export type RcptDecision = Decision<'rcpt'> & { relaying?: true }

export interface RcptContext {
  local: LocalIdentity
  verifyRecipients: boolean
  /** Is there a directory entry for this local recipient? Rejects when the directory cannot tell. */
  recipientExists(): Promise<boolean>
  client: {
    ip: string
    authenticated: boolean
    trustedNetwork: boolean
    /** a fresh POP/IMAP-before-SMTP grant for the client's IP (false when that is off) */
    popGrant(): Promise<boolean>
  }
}

function rcpt(reason: RcptReason, more: Partial<RcptDecision> = {}): RcptDecision {
  return { plugin: 'auth_relay', rule: 'rcpt', verdict: 'pass', reason, ...more }
}

const refuse = (reason: RcptReason, reply: Reply, detail: string) =>
  rcpt(reason, { verdict: 'fail', reply, detail })

/** RCPT TO: tricks are refused for everyone, our recipients accepted (verified), the rest relayed only for some. */
export async function judgeRcpt(input: RcptInput, ctx: RcptContext): Promise<RcptDecision> {
  const target = classifyRcpt(input, ctx.local)
  if (target.kind === 'trick') {
    const what = TRICK_TEXT[target.trick]
    return refuse(target.trick, relayTrickReply(what), `relaying denied: ${what}`)
  }
  if (target.kind === 'local') {
    // postmaster@ any local domain must always be accepted (RFC 5321 §4.5.1).
    const postmaster = target.rule === 'postmaster' || input.user.toLowerCase() === 'postmaster'
    if (!ctx.verifyRecipients || postmaster) return rcpt(target.rule)
    if (await ctx.recipientExists()) return rcpt('local_user')
    return refuse('unknown_user', REPLIES.RCPT_UNKNOWN_USER, 'no directory entry for this address')
  }
  const { client } = ctx
  const asked = client.authenticated || client.trustedNetwork ? false : await client.popGrant()
  const rule = relayRule({ ...client, popBeforeSmtp: asked })
  if (rule) return rcpt(rule, rule === 'authenticated' ? {} : { relaying: true })
  if (target.addressLiteral) {
    const detail = `relaying denied: address literal is not ours, for unauthenticated ${client.ip}`
    return refuse('relay_denied', REPLIES.RELAY_DENIED_IP_LITERAL, detail)
  }
  return refuse('relay_denied', REPLIES.RELAY_DENIED, `relaying denied for unauthenticated ${client.ip}`)
}

declare module '../decisions' {
  interface Reasons {
    rcpt: RcptReason
  }
}
