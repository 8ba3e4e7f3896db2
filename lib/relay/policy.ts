// "May this recipient be accepted?" for one RCPT, as pure decisions: first
// what the recipient is (a trick, one of ours, or somewhere else), then, for
// somewhere else, whether this session may relay.
import ipaddr from 'ipaddr.js'
import { canonicalDomain } from '../mail/address'
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
  const domain = normaliseDomain(rcpt.domain)
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

/**
 * The form host_list entries and envelope hosts are compared in: lower-case, a
 * non-ASCII name as its A-label (Haraka hands plugins `xn--bcher-kva.example`
 * for `bücher.example`), as lib/mail/address compares domains. A trailing
 * root dot is NOT stripped, so `example.com.` is not local.
 */
export function normaliseDomain(domain: string): string {
  return canonicalDomain(domain)
}

/** `[192.0.2.1]` or `[IPv6:2001:db8::1]` as a normalised IP string; null for anything else. */
export function addressLiteralIp(literal: string): string | null {
  const m = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(literal.trim())
  if (!m) return null
  const isV6 = /^\[ipv6:/i.test(literal.trim())
  const text = m[1]!
  if (isV6 ? !ipaddr.IPv6.isValid(text) : !ipaddr.IPv4.isValidFourPartDecimal(text)) return null
  return normaliseIp(text)
}

/** One text form per IP (IPv4-mapped IPv6 becomes IPv4); null when not an IP. */
export function normaliseIp(ip: string): string | null {
  // Only the standard notations: no `0x7f.1`-style IPv4 shorthands.
  if (!ipaddr.IPv4.isValidFourPartDecimal(ip) && !ipaddr.IPv6.isValid(ip)) return null
  return ipaddr.process(ip).toString()
}
