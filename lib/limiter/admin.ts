// The operator's commands on the AUTH limiter, over any StateStore (lib/state):
// list the bans in force, release one (or all that hold an address or a login),
// show a key's counters, and judge an attempt before the directory without
// counting anything (`haraka-ldap test --dry-run`). The Haraka process serves
// them on its admin socket (haraka/admin_socket) against its own store, so the
// CLI sees and changes exactly the state the plugin reads. Nothing here sees a
// password: a check gets at most the attempt's 16-bit fingerprint.
import ipaddr from 'ipaddr.js'
import { normaliseLogin } from '../authn/login'
import { inNetworks, parseCidr } from '../net/networks'
import type { StateOp, StateStore } from '../state/store'
import { hasUnsafeLoginCharacters } from '../text'
import {
  attemptKeys,
  BAN_LISTING,
  type BanKind,
  canonicalLogin,
  FAIL_GLOBAL,
  failKeyOf,
  familiarKeyOf,
  FINGERPRINT_HEX,
  networkOf,
  parseBanKey,
  strikesKeyOf,
} from './keys'
import type { LimitsConfig } from './config'
import { beforeOps, isExempt, judgeBefore, num, readBefore, SECOND, type LimitReason } from './policy'

/** One ban in force. */
export interface BanInfo {
  kind: BanKind
  /** the store key (`limit:ban:<kind>:<what>`): `bans release` takes it as it is */
  key: string
  /** the address key (ip, pair) or the network (subnet) */
  net: string
  /** the pair's login */
  login?: string
  /** Date.now() until which it holds */
  until: number
  /** bans of this key within ban_memory, this one included */
  strikes: number
}

/** the strikes key of a ban's key, or its failures' (the ban's kind and what, in another namespace) */
function besideBan(banKey: string, of: typeof strikesKeyOf): string {
  const { kind, what } = parseBanKey(banKey)!
  return of(kind, what)
}

/** Every ban in force, soonest to end first. Two round trips: the listing, then each ban and its strikes. */
export async function listBans(store: StateStore, now: number): Promise<BanInfo[]> {
  const [members] = await store.run([{ op: 'members', key: BAN_LISTING }], now)
  const keys = (Array.isArray(members) ? members : []).filter((k) => parseBanKey(k))
  if (!keys.length) return []
  const answers = await store.run(
    keys.flatMap((k): StateOp[] => [
      { op: 'get', key: k },
      { op: 'get', key: besideBan(k, strikesKeyOf) },
    ]),
    now,
  )
  const bans: BanInfo[] = []
  keys.forEach((key, i) => {
    const until = num(answers[2 * i])
    if (until <= now) return
    const { kind, what } = parseBanKey(key)!
    const bar = what.lastIndexOf('|')
    const pair = kind === 'pair' && bar > 0
    bans.push({
      kind,
      key,
      net: pair ? what.slice(0, bar) : what,
      ...(pair ? { login: what.slice(bar + 1) } : {}),
      until,
      strikes: Math.max(1, num(answers[2 * i + 1])),
    })
  })
  return bans.sort((a, b) => a.until - b.until || a.key.localeCompare(b.key))
}

/** What `bans release` / `limits show` was given, as the limiter keys it. */
export type Target =
  | { kind: 'ip'; ip: string; net: string; subnet: string }
  | { kind: 'subnet'; net: string }
  | { kind: 'key'; key: string }
  | { kind: 'login'; login: string }

type Shape = Pick<LimitsConfig, 'ipv4_subnet' | 'ipv6_subnet' | 'ipv6_host'>

/** An address, a network in CIDR form, a ban's store key, or else a login. */
export function parseTarget(cfg: Shape, raw: unknown): Target {
  const text = typeof raw === 'string' ? raw.trim() : ''
  if (!text) throw new Error('an address, a network, a ban key or a login is required')
  if ([...text].length > 512 || hasUnsafeLoginCharacters(text))
    throw new Error('not an address, a network, a ban key or a login')
  if (parseBanKey(text)) return { kind: 'key', key: text }
  if (ipaddr.isValid(text))
    return {
      kind: 'ip',
      ip: text,
      net: networkOf(text, 32, cfg.ipv6_host),
      subnet: networkOf(text, cfg.ipv4_subnet, cfg.ipv6_subnet),
    }
  if (text.includes('/') && !text.includes('@')) {
    const parsed = parseCidr(text)
    if (!parsed.ok) throw new Error(`${text} is not a network (CIDR)`)
    const [addr, bits] = parsed.cidr
    return { kind: 'subnet', net: networkOf(addr.toString(), bits, bits) }
  }
  const login = normaliseLogin(text)
  if (!login.ok) throw new Error(`not a login: ${login.reason}`)
  return { kind: 'login', login: canonicalLogin(login.login) }
}

function matches(ban: BanInfo, t: Target): boolean {
  switch (t.kind) {
    case 'key':
      return ban.key === t.key
    case 'ip':
      return (ban.kind === 'ip' || ban.kind === 'pair') && ban.net === t.net
    case 'subnet':
      return (ban.kind === 'subnet' || ban.kind === 'ip') && (ban.net === t.net || inSubnet(ban.net, t.net))
    case 'login':
      return ban.kind === 'pair' && ban.login === t.login
  }
}

/** A ban's address or network (`address/bits`) falls in `net`, a subnet target's normalised CIDR. */
function inSubnet(banNet: string, net: string): boolean {
  const range = parseCidr(net)
  return range.ok && inNetworks(banNet.slice(0, banNet.lastIndexOf('/')), [range.cidr])
}

export interface ReleaseBansResult {
  target: string
  released: BanInfo[]
  /** bans that still hold the address (its subnet's): released only when named */
  still: BanInfo[]
  /** a login: its failures were forgiven, so its unfamiliar sources are no longer refused */
  login_failures_cleared?: boolean
}

/**
 * The operator lifts bans: an address releases its own ban and its pairs (not its
 * subnet's, which is reported); a network releases its ban and its addresses'; a
 * key releases that ban; a login releases its pairs and forgets its failures (its
 * unfamiliar sources are no longer refused). Each released key's failures and
 * strikes go too, or its next failure would ban it again, for longer.
 */
export async function releaseBans(
  store: StateStore,
  cfg: Shape,
  raw: unknown,
  now: number,
): Promise<ReleaseBansResult> {
  const target = parseTarget(cfg, raw)
  const bans = await listBans(store, now)
  const released = bans.filter((b) => matches(b, target))
  const ops: StateOp[] = released.flatMap((b): StateOp[] => [
    { op: 'del', key: b.key },
    { op: 'del', key: besideBan(b.key, strikesKeyOf) },
    { op: 'del', key: besideBan(b.key, failKeyOf) },
    { op: 'unindex', key: BAN_LISTING, member: b.key },
  ])
  if (target.kind === 'login') ops.push({ op: 'del', key: failKeyOf('login', target.login) })
  if (ops.length) await store.run(ops, now)
  const still =
    target.kind === 'ip'
      ? bans.filter((b) => b.kind === 'subnet' && b.net === target.subnet && !released.includes(b))
      : []
  return {
    target: describeTarget(target),
    released,
    still,
    ...(target.kind === 'login' ? { login_failures_cleared: true } : {}),
  }
}

function describeTarget(t: Target): string {
  switch (t.kind) {
    case 'ip':
      return `ip ${t.net}`
    case 'subnet':
      return `subnet ${t.net}`
    case 'key':
      return t.key
    case 'login':
      return `login ${t.login}`
  }
}

/** A key's counters as `limits show` gives them. */
export interface LimitsShow {
  target: string
  window_s: number
  /** distinct failures in the window, and the budget (0: none) */
  counts: Record<string, { failures: number; budget: number }>
  /** a login: the networks it succeeded from, within familiar_ttl */
  familiar_sources?: number
  bans: BanInfo[]
  exempt?: boolean
}

/** The counters of an address (its key and its subnet's) or of a login, and the bans that hold it. */
export async function showLimits(
  store: StateStore,
  cfg: LimitsConfig,
  raw: unknown,
  now: number,
): Promise<LimitsShow> {
  const target = parseTarget(cfg, raw)
  const w = cfg.window * SECOND
  const bans = (await listBans(store, now)).filter(
    (b) => matches(b, target) || (target.kind === 'ip' && b.kind === 'subnet' && b.net === target.subnet),
  )
  const base = { target: describeTarget(target), window_s: cfg.window, bans }
  if (target.kind === 'ip') {
    const a = await store.run(
      [
        { op: 'count', key: failKeyOf('ip', target.net), windowMs: w },
        { op: 'count', key: failKeyOf('subnet', target.subnet), windowMs: w },
      ],
      now,
    )
    return {
      ...base,
      counts: {
        [`ip ${target.net}`]: { failures: num(a[0]), budget: cfg.ip_failures },
        [`subnet ${target.subnet}`]: { failures: num(a[1]), budget: cfg.subnet_failures },
      },
      exempt: isExempt(cfg, target.ip),
    }
  }
  if (target.kind === 'subnet') {
    const [n] = await store.run([{ op: 'count', key: failKeyOf('subnet', target.net), windowMs: w }], now)
    return {
      ...base,
      counts: { [`subnet ${target.net}`]: { failures: num(n), budget: cfg.subnet_failures } },
    }
  }
  if (target.kind === 'key') return { ...base, counts: {} }
  const a = await store.run(
    [
      { op: 'count', key: failKeyOf('login', target.login), windowMs: w },
      { op: 'count', key: familiarKeyOf(target.login), windowMs: cfg.familiar_ttl * SECOND },
      { op: 'count', key: FAIL_GLOBAL, windowMs: w },
    ],
    now,
  )
  const counts: LimitsShow['counts'] = {
    [`login ${target.login}`]: { failures: num(a[0]), budget: cfg.login_failures },
  }
  if (cfg.global_failures) counts.global = { failures: num(a[2]), budget: cfg.global_failures }
  return { ...base, counts, familiar_sources: num(a[1]) }
}

/** The limiter's verdict on an attempt before the directory, nothing counted. */
export interface LimitCheck {
  enabled: boolean
  /** the address the keys were built for (`null`: none given: an unfamiliar source with no history) */
  rip: string | null
  verdict?: 'ask' | 'refuse' | 'shield'
  reason?: LimitReason
  detail?: string
  reply?: { code: number; enh: string; text: string }
  familiar?: boolean
  exempt?: boolean
  /** whether this (login, password) failed in the window; null: no fingerprint given */
  known_wrong?: boolean | null
  counts?: Record<string, number>
  bans?: Record<BanKind, number>
}

/** Stands for "no address given": TEST-NET-1 (RFC 5737), never a client. */
const NO_ADDRESS = '192.0.2.0'

/**
 * Judge (rip, login[, fingerprint]) as the gate before the directory would, with
 * the same read-only batch (no hit, no write). Without a fingerprint the
 * known-wrong shield is not judged.
 */
export async function checkAttempt(
  store: StateStore,
  cfg: LimitsConfig,
  args: Record<string, unknown>,
  now: number,
  key: Buffer = cfg.key,
): Promise<LimitCheck> {
  const rip = typeof args.rip === 'string' && args.rip ? args.rip : null
  if (!cfg.enabled) return { enabled: false, rip }
  if (rip !== null && !ipaddr.isValid(rip)) throw new Error(`${rip} is not an address`)
  const norm = normaliseLogin(typeof args.login === 'string' ? args.login : '')
  if (!norm.ok) throw new Error(`not a login: ${norm.reason}`)
  const fp =
    typeof args.fingerprint === 'string' &&
    new RegExp(`^[0-9a-f]{${FINGERPRINT_HEX}}$`).test(args.fingerprint)
      ? args.fingerprint
      : undefined
  // The keys need a password only for the fingerprint, replaced here by the one given (or none).
  const keys = {
    ...attemptKeys(cfg, key, rip ?? NO_ADDRESS, canonicalLogin(norm.login), ''),
    fp: fp ?? '',
  }
  const answers = await store.run(beforeOps(cfg, keys), now)
  const before = readBefore(answers, now)
  if (!fp) before.knownWrong = false
  const exempt = rip !== null && isExempt(cfg, rip)
  const gate = judgeBefore(cfg, keys, before, exempt, now)
  return {
    enabled: true,
    rip,
    verdict: gate.kind,
    ...(gate.kind === 'ask' ? {} : { reason: gate.decision.reason, detail: gate.decision.detail }),
    ...(gate.kind === 'ask' ? {} : { reply: { ...gate.decision.reply } }),
    familiar: before.familiar,
    exempt,
    known_wrong: fp ? before.knownWrong : null,
    counts: { ...before.counts },
    bans: { ...before.bans },
  }
}

type Command = (args: Record<string, unknown>) => Promise<unknown>

/**
 * The admin socket's limiter commands (lib/admin/socket), over the process's
 * store and its current auth_limits.ini: `bans.list`, `bans.release {target}`,
 * `limits.show {target}`, `limits.check {rip?, login, fingerprint?}`. `key`: the HMAC key the
 * attempts are counted with (with no secret set and a shared store, the one kept there), by default
 * auth_limits.ini's.
 */
export function limiterCommands(
  store: () => StateStore,
  cfg: () => LimitsConfig | undefined,
  clock: () => number = Date.now,
  key?: (cfg: LimitsConfig) => Buffer,
): Map<string, Command> {
  const current = (): LimitsConfig => {
    const c = cfg()
    if (!c) throw new Error('auth_limits.ini is not loaded')
    return c
  }
  return new Map<string, Command>([
    ['bans.list', async () => ({ enabled: current().enabled, bans: await listBans(store(), clock()) })],
    ['bans.release', async (args) => releaseBans(store(), current(), args.target, clock())],
    ['limits.show', async (args) => showLimits(store(), current(), args.target, clock())],
    [
      'limits.check',
      async (args) => {
        const c = current()
        return checkAttempt(store(), c, args, clock(), key ? key(c) : c.key)
      },
    ],
  ])
}
