// One text form per IP address, and the IP of an address literal, in the
// standard notations only: `0x7f.1`-style IPv4 shorthands are not addresses.
import ipaddr from 'ipaddr.js'

/** One text form per IP (IPv4-mapped IPv6 becomes IPv4); null when not an IP. */
export function normaliseIp(ip: string): string | null {
  if (!ipaddr.IPv4.isValidFourPartDecimal(ip) && !ipaddr.IPv6.isValid(ip)) return null
  return ipaddr.process(ip).toString()
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
