// "May this recipient be accepted?" for one RCPT, as pure decisions: first
// what the recipient is (a trick, one of ours, or somewhere else), then, for
// somewhere else, whether this session may relay.
import { canonicalDomain } from '../mail/address'
import { addressLiteralIp } from '../net/ip'
import { findTrick, type Trick } from './tricks'

export type RcptTarget =
  | { kind: 'trick'; trick: Trick }
  | { kind: 'local'; rule: 'local_domain' | 'postmaster' | 'local_address_literal' }
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
  /** our own IP addresses (the listening address and local_ips), in ipaddr.process() form */
  ips: ReadonlySet<string>
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
    if (ip && local.ips.has(ip)) return { kind: 'local', rule: 'local_address_literal' }
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
