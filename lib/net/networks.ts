// CIDR ranges (trusted_networks, mail_auth_peers, auth_stamp's verify_peers) and
// whether a client address falls in one. Only the standard notations are
// accepted: ipaddr.parseCIDR alone would read `010.0.0.0/8` as 8.0.0.0/8 and
// `10.1/16` as 10.0.0.1/16 (inet_aton's octal and shortened forms).
import ipaddr from 'ipaddr.js'

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number]

export const CIDR_HINT = 'a CIDR range such as 192.0.2.0/24'

export type ParsedCidr = { ok: true; cidr: Cidr } | { ok: false; why: string }

/**
 * `address/prefix` with a four-part decimal IPv4 (prefix 0-32) or an IPv6
 * address without zone (0-128). An IPv4-mapped IPv6 range is refused: clients
 * are compared in their IPv4 form, so it would never match; the IPv4 range to
 * write instead is named.
 */
export function parseCidr(text: string): ParsedCidr {
  const m = /^([^/\s]+)\/(0|[1-9][0-9]{0,2})$/.exec(text.trim())
  if (!m) return { ok: false, why: 'not address/prefix' }
  const address = m[1]!
  const bits = Number(m[2])
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) {
    if (bits > 32) return { ok: false, why: 'an IPv4 prefix is at most 32' }
    return { ok: true, cidr: [ipaddr.IPv4.parse(address), bits] }
  }
  if (!address.includes('%') && ipaddr.IPv6.isValid(address)) {
    if (bits > 128) return { ok: false, why: 'an IPv6 prefix is at most 128' }
    const v6 = ipaddr.IPv6.parse(address)
    if (v6.isIPv4MappedAddress()) {
      const hint = bits >= 96 ? `; write it as ${v6.toIPv4Address().toString()}/${bits - 96}` : ''
      return { ok: false, why: `IPv4-mapped${hint}` }
    }
    return { ok: true, cidr: [v6, bits] }
  }
  return { ok: false, why: 'not a four-part decimal IPv4 or an IPv6 address' }
}

/** A list option of CIDR ranges: each bad item is an error naming `where`; none is kept when one is bad. */
export function cidrOption(where: string, list: readonly string[], errors: string[]): Cidr[] {
  const out: Cidr[] = []
  let bad = false
  for (const text of list) {
    const r = parseCidr(text)
    if (r.ok) out.push(r.cidr)
    else {
      bad = true
      errors.push(`${where}: ${JSON.stringify(text)} is not ${CIDR_HINT} (${r.why})`)
    }
  }
  return bad ? [] : out
}

/** True when `ip` (IPv4, IPv6, or IPv4-mapped IPv6) falls in one of `ranges`. */
export function inNetworks(ip: string, ranges: readonly Cidr[]): boolean {
  if (!ranges.length || !ipaddr.isValid(ip)) return false
  const addr = ipaddr.process(ip)
  return ranges.some(([range, bits]) => addr.kind() === range.kind() && addr.match(range, bits))
}

/** A range wider than an IPv4 /8 or an IPv6 /32 (but not /0): worth a warning where it grants trust. */
export function isVeryWide([range, bits]: Cidr): boolean {
  return bits > 0 && bits < (range.kind() === 'ipv4' ? 8 : 32)
}
