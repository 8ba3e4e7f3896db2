// The AUTH=<mailbox> parameter of MAIL FROM (RFC 4954 §5): an MTA's claim that
// the message was submitted by <mailbox>. We believe it only from a session
// that authenticated (and only for an address the login owns) or from a peer
// in mail_auth_peers; anything else is treated as AUTH=<>. It never grants relaying.
import { Address } from '@haraka/email-address'
import type { Decision } from '../decisions'
import { safeForLog, printable } from '../text'

export type AuthParam =
  { kind: 'absent' } | { kind: 'null' } | { kind: 'mailbox'; address: string } | { kind: 'malformed' }

/** RFC 3461 §4 xtext: `+XX` is the byte 0xXX; other characters are themselves. Null when malformed. */
export function decodeXtext(text: string): string | null {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    const code = ch.charCodeAt(0)
    if (code < 0x21 || code > 0x7e || ch === '=') return null
    if (ch !== '+') {
      out += ch
      continue
    }
    const hex = text.slice(i + 1, i + 3)
    if (!/^[0-9A-F]{2}$/.test(hex)) return null
    out += String.fromCharCode(parseInt(hex, 16))
    i += 2
  }
  return out
}

/** The parameter as Haraka hands it to the mail hook (params.AUTH: string, null for a bare `AUTH=`). */
export function parseAuthParam(value: unknown): AuthParam {
  if (value === undefined) return { kind: 'absent' }
  if (typeof value !== 'string') return { kind: 'malformed' }
  const decoded = decodeXtext(value)
  if (decoded === null) return { kind: 'malformed' }
  if (decoded === '<>') return { kind: 'null' }
  if (!decoded.startsWith('<') || !decoded.endsWith('>')) return { kind: 'malformed' }
  try {
    // The RFC 5321 path grammar, as Haraka parses MAIL FROM itself.
    const parsed = new Address(decoded)
    return parsed.isNull() || !parsed.host
      ? { kind: 'malformed' }
      : { kind: 'mailbox', address: `${parsed.user}@${parsed.host}` }
  } catch {
    return { kind: 'malformed' }
  }
}

export type MailAuthReason =
  'null' | 'authenticated' | 'trusted_peer' | 'unauthenticated' | 'not_owned' | 'malformed'

export interface MailAuthVerdict {
  /** the value to carry forward: `<mailbox>` or `<>` */
  value: string
  accepted: boolean
  reason: MailAuthReason
}

export function judgeAuthParam(
  param: Exclude<AuthParam, { kind: 'absent' }>,
  who: { authenticated: boolean; trustedPeer: boolean; ownedByLogin: boolean },
): MailAuthVerdict {
  if (param.kind === 'null') return { value: '<>', accepted: true, reason: 'null' }
  if (param.kind === 'malformed') return { value: '<>', accepted: false, reason: 'malformed' }
  if (who.authenticated) {
    return who.ownedByLogin
      ? { value: `<${param.address}>`, accepted: true, reason: 'authenticated' }
      : { value: '<>', accepted: false, reason: 'not_owned' }
  }
  if (who.trustedPeer) return { value: `<${param.address}>`, accepted: true, reason: 'trusted_peer' }
  return { value: '<>', accepted: false, reason: 'unauthenticated' }
}

/** The verdict as recorded: pass mail_auth(<reason>) when believed, skip when treated as AUTH=<>. */
export function mailAuthDecision(
  param: Exclude<AuthParam, { kind: 'absent' }>,
  verdict: MailAuthVerdict,
): Decision<'mail_auth'> {
  const shown = param.kind === 'mailbox' ? safeForLog(param.address) : param.kind
  const detail = verdict.accepted
    ? `AUTH=${printable(verdict.value)} on MAIL FROM accepted (${verdict.reason})`
    : `AUTH= parameter ${shown} on MAIL FROM ignored, treated as AUTH=<> (${verdict.reason})`
  const verdictKey = verdict.accepted ? 'pass' : 'skip'
  return { plugin: 'auth_relay', rule: 'mail_auth', reason: verdict.reason, verdict: verdictKey, detail }
}

declare module '../decisions' {
  interface Reasons {
    mail_auth: MailAuthReason
  }
}
