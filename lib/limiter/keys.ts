// What the AUTH limiter counts by: the client address (an IPv6 client as its
// /64), its subnet (IPv4 /24, IPv6 /48), the canonical login, the pair of both,
// the login's familiar sources, and a password fingerprint. A fingerprint is an
// HMAC of login and password under the limiter's secret, cut to 16 bits: enough
// to tell "the same wrong password again" (a phone retrying a stale one), useless
// to recover a password from (65 536 values, and the key is needed to compute
// any). No password and no full hash is kept, logged or sent to the store.
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto'
import ipaddr from 'ipaddr.js'

/** Hex digits of a password fingerprint: 4 = 16 bits (Dovecot's policy hash keeps 12). */
export const FINGERPRINT_HEX = 4

export interface KeyShape {
  ipv4_subnet: number
  ipv6_subnet: number
  ipv6_host: number
  familiar_ipv4_subnet: number
  familiar_ipv6_subnet: number
}

/** `address/prefix` of the network `bits` long that holds `ip` (IPv4-mapped IPv6 as IPv4). */
export function networkOf(ip: string, v4bits: number, v6bits: number): string {
  if (!ipaddr.isValid(ip)) return `invalid:${ip.slice(0, 64)}`
  const addr = ipaddr.process(ip)
  const bits = addr.kind() === 'ipv4' ? v4bits : v6bits
  const bytes = addr.toByteArray()
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8))
    bytes[i]! &= (0xff << (8 - keep)) & 0xff
  }
  const net = ipaddr.fromByteArray(bytes).toString()
  return `${net}/${bits}`
}

/**
 * The canonical login of the keys: normalised (lib/authn/login), NFKC and lower-cased. NFKC
 * because the directory compares logins under compatibility decomposition (OpenLDAP's
 * caseIgnoreMatch finds uid=alice for uid=\uff41lice, fullwidth): each such form must count
 * against the one login, not be a login of its own with its own budget.
 */
export function canonicalLogin(normalised: string): string {
  return normalised.normalize('NFKC').toLowerCase()
}

// The key as a KeyObject, made once per key: createHmac with a Buffer imports the key on
// every call (about 6 µs of the 8 an HMAC costs, measured on Node 24).
const keyObjects = new WeakMap<Buffer, KeyObject>()
function hmacKey(key: Buffer): KeyObject {
  let k = keyObjects.get(key)
  if (!k) keyObjects.set(key, (k = createSecretKey(key)))
  return k
}

export function fingerprint(key: Buffer, login: string, password: string): string {
  return createHmac('sha256', hmacKey(key))
    .update(`pw\0${login}\0${password}`)
    .digest('hex')
    .slice(0, FINGERPRINT_HEX)
}

/** A familiar source as stored: an HMAC of the login and its source network, 64 bits. */
export function familiarToken(key: Buffer, login: string, sourceNet: string): string {
  return createHmac('sha256', hmacKey(key)).update(`src\0${login}\0${sourceNet}`).digest('hex').slice(0, 16)
}

/** The store keys of one attempt (namespace `limit:`). Logins appear canonical, never a password. */
export interface AttemptKeys {
  /** the client's address key: an IPv4 address, an IPv6 /64 (ipv6_host) */
  ip: string
  subnet: string
  login: string
  /** the attempt's password fingerprint */
  fp: string
  /** the familiar-source token of (login, source network) */
  source: string
  failIp: string
  failSubnet: string
  failLogin: string
  failPair: string
  failFamiliar: string
  failGlobal: string
  familiar: string
  banIp: string
  banSubnet: string
  banPair: string
  strikesIp: string
  strikesSubnet: string
  strikesPair: string
}

export const BAN_LISTING = 'limit:bans'
/** changes at every ban written (lib/limiter/ban_mirror reads the listing again only then) */
export const BAN_VERSION = 'limit:bans:version'

/** What a ban holds: an address key, a subnet, or a pair (`<address key>|<login>`). */
export type BanKind = 'ip' | 'subnet' | 'pair'

// The key layout, written once: the plugin, the admin commands and the ban mirror build keys here.
/** failures of all logins from unfamiliar sources */
export const FAIL_GLOBAL = 'limit:fail:global'

/** the failures of an address, subnet, login, pair, or (familiar) `<login>|<source token>` */
export function failKeyOf(kind: BanKind | 'login' | 'familiar', what: string): string {
  return `limit:fail:${kind}:${what}`
}

export function banKeyOf(kind: BanKind, what: string): string {
  return `limit:ban:${kind}:${what}`
}

/** the bans of a key within ban_memory (each ban is longer than the one before) */
export function strikesKeyOf(kind: BanKind, what: string): string {
  return `limit:strikes:${kind}:${what}`
}

/** the login's familiar sources */
export function familiarKeyOf(login: string): string {
  return `limit:familiar:${login}`
}

const BAN_KEY = /^limit:ban:(ip|subnet|pair):(.+)$/

/** A ban's store key read back (undefined: not one). */
export function parseBanKey(key: string): { kind: BanKind; what: string } | undefined {
  const m = BAN_KEY.exec(key)
  return m ? { kind: m[1] as BanKind, what: m[2]! } : undefined
}

/** The connect hook's keys: only the address and its subnet. */
export function connectKeys(
  shape: KeyShape,
  ip: string,
): { ip: string; subnet: string; banIp: string; banSubnet: string } {
  const host = networkOf(ip, 32, shape.ipv6_host)
  const subnet = networkOf(ip, shape.ipv4_subnet, shape.ipv6_subnet)
  return { ip: host, subnet, banIp: banKeyOf('ip', host), banSubnet: banKeyOf('subnet', subnet) }
}

export function attemptKeys(
  shape: KeyShape,
  key: Buffer,
  ip: string,
  login: string,
  password: string,
): AttemptKeys {
  const { ip: host, subnet, banIp, banSubnet } = connectKeys(shape, ip)
  const sourceNet = networkOf(ip, shape.familiar_ipv4_subnet, shape.familiar_ipv6_subnet)
  const source = familiarToken(key, login, sourceNet)
  const pair = `${host}|${login}`
  return {
    ip: host,
    subnet,
    login,
    fp: fingerprint(key, login, password),
    source,
    failIp: failKeyOf('ip', host),
    failSubnet: failKeyOf('subnet', subnet),
    failLogin: failKeyOf('login', login),
    failPair: failKeyOf('pair', pair),
    failFamiliar: failKeyOf('familiar', `${login}|${source}`),
    failGlobal: FAIL_GLOBAL,
    familiar: familiarKeyOf(login),
    banIp,
    banSubnet,
    banPair: banKeyOf('pair', pair),
    strikesIp: strikesKeyOf('ip', host),
    strikesSubnet: strikesKeyOf('subnet', subnet),
    strikesPair: strikesKeyOf('pair', pair),
  }
}
