// Trusted networks: CIDR ranges whose clients may relay without AUTH.
import ipaddr from 'ipaddr.js'

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number]

export function isCidr(text: string): boolean {
  try {
    ipaddr.parseCIDR(text)
    return true
  } catch {
    return false
  }
}

export function parseCidrs(list: readonly string[]): Cidr[] {
  return list.map((c) => ipaddr.parseCIDR(c))
}

/** True when `ip` (IPv4, IPv6, or IPv4-mapped IPv6) falls in one of `ranges`. */
export function inNetworks(ip: string, ranges: readonly Cidr[]): boolean {
  if (!ranges.length || !ipaddr.isValid(ip)) return false
  const addr = ipaddr.process(ip)
  return ranges.some(([range, bits]) => addr.kind() === range.kind() && addr.match(range, bits))
}
