// The AUTH limiter as a pure policy over the shared state (lib/state): it builds
// the batches an attempt runs and reads their answers with a clock it is given.
// One batch before the directory (bans, counts, familiar source, a password
// already known wrong), one after the verdict (the failure's hits, or the
// success's familiar source), and a third only when a ban is earned: at most
// three round trips per AUTH.
//
// Counting is by distinct password: a key's window holds members such as
// `<login>:<fingerprint>`, so the same wrong password again only refreshes its
// member (a phone retrying a stale password does not climb). The graded
// response: from delay_after failures a delay before the reply, doubling to
// delay_max; at a key's budget a ban (454 at AUTH, and 421 at connect for an
// address or subnet ban), 5 min doubling per repeat within ban_memory, capped.
// The login key never bans a login: past login_failures it refuses the login's
// unfamiliar sources only, while a familiar source (a network the login
// succeeded from, HMAC'd, familiar_ttl) has its own larger budget (Entra
// smart lockout). Refused requests and a known-wrong (login, password) never
// reach the directory, so SMTP noise cannot trip its lockout.
import { doubled } from '../backoff'
import { containLogin } from '../containment/budgets'
import { suspendOps } from '../containment/suspension'
import type { Decision } from '../decisions'
import { inNetworks } from '../net/networks'
import { REPLIES, type Reply } from '../replies'
import type { StateAnswer, StateOp } from '../state/store'
import type { LimitsConfig } from './config'
import { BAN_LISTING, BAN_VERSION, type AttemptKeys, type BanKind } from './keys'

/** `limit(<reason>)`: what the limiter did (README "AUTH limiter", results labels). */
export type LimitReason =
  /** refused at AUTH (454 4.7.0) or at connect (421 4.7.0) during a ban */
  | 'banned_ip'
  | 'banned_subnet'
  | 'banned_pair'
  /** refused at AUTH (454 4.7.0): the login's failures reached its budget for unfamiliar sources, or for this familiar one, or the global budget */
  | 'login_locked'
  | 'familiar_locked'
  | 'global_locked'
  /** answered 535 without asking the directory: this login failed with this password in the window */
  | 'known_wrong'
  /** the reply waited: the failures counted in the window */
  | 'delayed'
  /** this failure reached a key's budget: a ban starts */
  | 'ban_ip'
  | 'ban_subnet'
  | 'ban_pair'
  /** a success from an unfamiliar source right after a burst of failures: the login is suspended */
  | 'unfamiliar_after_failures'
  /** the store did not answer in time or failed: the attempt went on without the limiter */
  | 'store_unavailable'

declare module '../decisions' {
  interface Reasons {
    limit: LimitReason
  }
}

/** What the limiter did to an attempt, for the audit line's `limiter` field. */
export type LimiterAction =
  'allow' | 'delay' | 'refuse' | 'shield' | 'ban' | 'suspend' | 'exempt' | 'unavailable'

export type LimitDecision = Decision<'limit'>

export function limitDecision(
  reason: LimitReason,
  verdict: LimitDecision['verdict'],
  detail?: string,
  reply?: Reply,
): LimitDecision {
  return {
    plugin: 'ldap_auth',
    rule: 'limit',
    reason,
    verdict,
    ...(reply ? { reply } : {}),
    ...(detail ? { detail } : {}),
  }
}

export type Policy = Omit<LimitsConfig, 'key' | 'secret'>

export const SECOND = 1000

/** Members kept per window: enough for the budget and the delay's whole ladder. */
function capOf(cfg: Policy, budget: number): number {
  return Math.max(budget, cfg.delay_after + 32) + 1
}

/** The delay before the reply when the worst counted key holds `n` failures. */
export function delayFor(cfg: Pick<Policy, 'delay' | 'delay_after' | 'delay_max'>, n: number): number {
  if (cfg.delay === 0 || n < cfg.delay_after) return 0
  return doubled(cfg.delay, n - cfg.delay_after, cfg.delay_max)
}

/** A ban's length after `strikes` earlier bans of the key within ban_memory. */
export function banLengthMs(cfg: Pick<Policy, 'ban' | 'ban_max'>, strikes: number): number {
  return doubled(cfg.ban, Math.max(0, strikes), cfg.ban_max) * SECOND
}

export function isExempt(cfg: Pick<Policy, 'exempt'>, ip: string): boolean {
  return inNetworks(ip, cfg.exempt)
}

type Counts = { ip: number; subnet: number; login: number; pair: number; familiar: number; global: number }

/** What the batch before the directory read. */
export interface Before {
  /** Date.now() until which each ban holds (0: none) */
  bans: Record<BanKind, number>
  counts: Counts
  strikes: Record<BanKind, number>
  /** the source network is one the login succeeded from */
  familiar: boolean
  /** when the login last succeeded from it, as stored (0: not familiar) */
  familiarAt: number
  /** this (login, password fingerprint) failed in the window */
  knownWrong: boolean
}

/** A store answer as a number (absent or not numeric: 0). */
export const num = (a: StateAnswer | undefined): number => (typeof a === 'number' ? a : Number(a) || 0)

/** The batch before the directory: 14 reads, no writes. */
export function beforeOps(cfg: Policy, k: AttemptKeys): StateOp[] {
  const w = cfg.window * SECOND
  return [
    { op: 'get', key: k.banIp },
    { op: 'get', key: k.banSubnet },
    { op: 'get', key: k.banPair },
    { op: 'count', key: k.failIp, windowMs: w },
    { op: 'count', key: k.failSubnet, windowMs: w },
    { op: 'count', key: k.failLogin, windowMs: w },
    { op: 'count', key: k.failPair, windowMs: w },
    { op: 'count', key: k.failFamiliar, windowMs: w },
    { op: 'count', key: k.failGlobal, windowMs: w },
    { op: 'at', key: k.familiar, member: k.source, windowMs: cfg.familiar_ttl * SECOND },
    { op: 'seen', key: k.failLogin, member: k.fp, windowMs: w },
    { op: 'get', key: k.strikesIp },
    { op: 'get', key: k.strikesSubnet },
    { op: 'get', key: k.strikesPair },
  ]
}

export function readBefore(a: readonly StateAnswer[], now: number): Before {
  const until = (x: StateAnswer | undefined) => (num(x) > now ? num(x) : 0)
  return {
    bans: { ip: until(a[0]), subnet: until(a[1]), pair: until(a[2]) },
    counts: countsFrom(a, 3),
    familiar: num(a[9]) > 0,
    familiarAt: num(a[9]),
    knownWrong: num(a[10]) === 1,
    strikes: { ip: num(a[11]), subnet: num(a[12]), pair: num(a[13]) },
  }
}

/** Nothing known (the store failed): every count zero, no ban. */
export const NOTHING_KNOWN: Before = Object.freeze({
  bans: { ip: 0, subnet: 0, pair: 0 },
  counts: { ip: 0, subnet: 0, login: 0, pair: 0, familiar: 0, global: 0 },
  strikes: { ip: 0, subnet: 0, pair: 0 },
  familiar: false,
  familiarAt: 0,
  knownWrong: false,
})

/** The limiter's answer before the directory. */
export type Gate =
  /** refused with its decision's 454; the directory is not asked */
  | { kind: 'refuse'; decision: LimitDecision & { reply: Reply } }
  /** a failure without asking the directory: 535 */
  | { kind: 'shield'; decision: LimitDecision & { reply: Reply } }
  /** ask the directory */
  | { kind: 'ask' }

function seconds(ms: number): number {
  return Math.ceil(ms / SECOND)
}

/** Before the directory: a ban or a lock refuses, a known-wrong password is answered as wrong, else ask. */
export function judgeBefore(cfg: Policy, k: AttemptKeys, b: Before, exempt: boolean, now: number): Gate {
  const refuse = (reason: LimitReason, detail: string): Gate => ({
    kind: 'refuse',
    decision: limitDecision(reason, 'fail', detail, REPLIES.AUTH_LIMITED) as LimitDecision & { reply: Reply },
  })
  if (!exempt) {
    if (b.bans.ip) return refuse('banned_ip', `ip ${k.ip} banned for ${seconds(b.bans.ip - now)} s more`)
    if (b.bans.subnet)
      return refuse('banned_subnet', `subnet ${k.subnet} banned for ${seconds(b.bans.subnet - now)} s more`)
    if (b.bans.pair)
      return refuse(
        'banned_pair',
        `ip ${k.ip} banned for login ${k.login} for ${seconds(b.bans.pair - now)} s more`,
      )
    if (b.familiar) {
      if (cfg.familiar_failures && b.counts.familiar >= cfg.familiar_failures)
        return refuse(
          'familiar_locked',
          `login ${k.login} from a familiar source: ${b.counts.familiar}/${cfg.familiar_failures} failures in ${cfg.window} s`,
        )
    } else {
      if (cfg.login_failures && b.counts.login >= cfg.login_failures)
        return refuse(
          'login_locked',
          `login ${k.login} from an unfamiliar source: ${b.counts.login}/${cfg.login_failures} failures in ${cfg.window} s`,
        )
      if (cfg.global_failures && b.counts.global >= cfg.global_failures)
        return refuse(
          'global_locked',
          `unfamiliar source: ${b.counts.global}/${cfg.global_failures} failures of all logins in ${cfg.window} s`,
        )
    }
  }
  if (b.knownWrong)
    return {
      kind: 'shield',
      decision: limitDecision(
        'known_wrong',
        'fail',
        `login ${k.login} failed with this password (fingerprint ${k.fp}) within ${cfg.window} s: the directory is not asked`,
        REPLIES.AUTH_FAILED,
      ) as LimitDecision & { reply: Reply },
    }
  return { kind: 'ask' }
}

/** The counts a delay is graded by: the address, the pair, and the login (or, from a familiar source, its own). */
function worst(c: Counts, familiar: boolean): number {
  return Math.max(c.ip, c.pair, familiar ? c.familiar : c.login)
}

/** A successful attempt's delay: from the failures counted before it. */
export function successDelay(cfg: Policy, b: Before, exempt: boolean): number {
  return exempt ? 0 : delayFor(cfg, worst(b.counts, b.familiar))
}

/** The batch after a failure: the hits of its distinct (login, password) on every key. */
export function failureOps(cfg: Policy, k: AttemptKeys, familiar: boolean): StateOp[] {
  const w = cfg.window * SECOND
  const pw = `${k.login}:${k.fp}`
  return [
    { op: 'hit', key: k.failIp, member: pw, windowMs: w, cap: capOf(cfg, cfg.ip_failures) },
    { op: 'hit', key: k.failSubnet, member: pw, windowMs: w, cap: capOf(cfg, cfg.subnet_failures) },
    { op: 'hit', key: k.failLogin, member: k.fp, windowMs: w, cap: capOf(cfg, cfg.login_failures) },
    { op: 'hit', key: k.failPair, member: k.fp, windowMs: w, cap: capOf(cfg, cfg.pair_failures) },
    familiar
      ? { op: 'hit', key: k.failFamiliar, member: k.fp, windowMs: w, cap: capOf(cfg, cfg.familiar_failures) }
      : { op: 'count', key: k.failFamiliar, windowMs: w },
    cfg.global_failures
      ? {
          op: 'hit',
          key: k.failGlobal,
          member: `${k.ip}|${pw}`,
          windowMs: w,
          cap: capOf(cfg, cfg.global_failures),
        }
      : { op: 'count', key: k.failGlobal, windowMs: w },
  ]
}

export function readFailure(a: readonly StateAnswer[]): Counts {
  return countsFrom(a, 0)
}

/** The six failure counts, in their batch order (ip, subnet, login, pair, familiar, global), from answer `i` on. */
function countsFrom(a: readonly StateAnswer[], i: number): Counts {
  return {
    ip: num(a[i]),
    subnet: num(a[i + 1]),
    login: num(a[i + 2]),
    pair: num(a[i + 3]),
    familiar: num(a[i + 4]),
    global: num(a[i + 5]),
  }
}

export interface Ban {
  kind: BanKind
  key: string
  strikesKey: string
  /** this is the key's ban number strikes+1 within ban_memory */
  strikes: number
  lengthMs: number
  decision: LimitDecision
}

/** After a failure: the delay before its reply, and the bans it earned. */
export function judgeFailure(
  cfg: Policy,
  k: AttemptKeys,
  b: Before,
  after: Counts,
  exempt: boolean,
): { delayMs: number; bans: Ban[] } {
  if (exempt) return { delayMs: 0, bans: [] }
  const bans: Ban[] = []
  const consider = (kind: BanKind, count: number, budget: number, what: string) => {
    if (!budget || count < budget) return
    const strikes = b.strikes[kind]
    const lengthMs = banLengthMs(cfg, strikes)
    const detail = `${what}: ${count}/${budget} distinct failures in ${cfg.window} s; banned for ${seconds(lengthMs)} s (ban ${strikes + 1} within ${cfg.ban_memory} s)`
    const key = kind === 'ip' ? k.banIp : kind === 'subnet' ? k.banSubnet : k.banPair
    const strikesKey = kind === 'ip' ? k.strikesIp : kind === 'subnet' ? k.strikesSubnet : k.strikesPair
    bans.push({
      kind,
      key,
      strikesKey,
      strikes,
      lengthMs,
      decision: limitDecision(`ban_${kind}`, 'fail', detail),
    })
  }
  consider('ip', after.ip, cfg.ip_failures, `ip ${k.ip}`)
  consider('subnet', after.subnet, cfg.subnet_failures, `subnet ${k.subnet}`)
  consider('pair', after.pair, cfg.pair_failures, `ip ${k.ip} with login ${k.login}`)
  return { delayMs: delayFor(cfg, worst(after, b.familiar)), bans }
}

/**
 * The third batch, only when a ban was earned: the bans, their strikes, the listing of bans
 * in force, and the listing's version (BAN_VERSION: a value no earlier write had, so every
 * process's BanMirror sees the listing changed).
 */
export function banOps(cfg: Policy, bans: readonly Ban[], now: number): StateOp[] {
  const version = `${now}:${bans.map((b) => b.key).join(',')}`
  return [
    ...bans.flatMap((ban): StateOp[] => [
      { op: 'set', key: ban.key, value: String(now + ban.lengthMs), ttlMs: ban.lengthMs },
      { op: 'incr', key: ban.strikesKey, ttlMs: cfg.ban_memory * SECOND },
      { op: 'index', key: BAN_LISTING, member: ban.key, ttlMs: ban.lengthMs },
    ]),
    { op: 'set', key: BAN_VERSION, value: version, ttlMs: cfg.ban_max * SECOND },
  ]
}

/** Whether a success is the containment trigger: from an unfamiliar source right after a burst of failures. */
export function isSuspicious(cfg: Policy, b: Before): boolean {
  return cfg.suspend_unfamiliar_after_failures && !b.familiar && b.counts.login >= cfg.suspend_burst
}

/**
 * How old a familiar source's mark may be before a success writes it again: an hour, or a
 * tenth of familiar_ttl when that is shorter. So the mark expires familiar_ttl after the last
 * success, give or take this, and most successes (a familiar source, no failures to forgive)
 * write nothing: no round trip after the directory.
 */
export function familiarRefreshMs(cfg: Pick<Policy, 'familiar_ttl'>): number {
  return Math.min(3600 * SECOND, (cfg.familiar_ttl * SECOND) / 10)
}

/**
 * The batch after a success: its source becomes (or stays) familiar and the pair's and
 * familiar source's own failures are forgiven; a suspicious success is suspended
 * instead (lib/containment/suspension), its source not made familiar. The suspension
 * is the session's user (the verdict's), as auth_relay looks it up (containLogin).
 * Empty (nothing to run) when the source is familiar, its mark younger than
 * familiarRefreshMs, and the batch before counted no failure of the pair or of the source.
 */
export function successOps(
  cfg: Policy,
  k: AttemptKeys,
  b: Before,
  now: number,
  sessionUser: string = k.login,
): { ops: StateOp[]; suspension?: LimitDecision } {
  if (isSuspicious(cfg, b)) {
    const reason = `success from an unfamiliar source after ${b.counts.login} distinct failed passwords in ${cfg.window} s`
    const login = containLogin(sessionUser)
    return {
      ops: suspendOps({ login, since: now, rule: 'unfamiliar_after_failures', reason }),
      suspension: limitDecision('unfamiliar_after_failures', 'fail', `login ${login} suspended: ${reason}`),
    }
  }
  const fresh = b.familiar && now - b.familiarAt < familiarRefreshMs(cfg)
  const ops: StateOp[] = []
  if (!fresh)
    ops.push({ op: 'hit', key: k.familiar, member: k.source, windowMs: cfg.familiar_ttl * SECOND, cap: 64 })
  if (!fresh || b.counts.pair > 0) ops.push({ op: 'del', key: k.failPair })
  if (!fresh || b.counts.familiar > 0) ops.push({ op: 'del', key: k.failFamiliar })
  return { ops }
}

/** The connect hook's batch: the address's and subnet's bans. */
export function connectOps(keys: { banIp: string; banSubnet: string }): StateOp[] {
  return [
    { op: 'get', key: keys.banIp },
    { op: 'get', key: keys.banSubnet },
  ]
}

/** At connect: 421 4.7.0 during an address or subnet ban, else nothing. */
export function judgeConnect(
  keys: { ip: string; subnet: string },
  a: readonly StateAnswer[],
  now: number,
): (LimitDecision & { reply: Reply }) | undefined {
  const ip = num(a[0])
  const subnet = num(a[1])
  const d = (reason: LimitReason, detail: string) =>
    limitDecision(reason, 'fail', detail, REPLIES.CONNECT_LIMITED) as LimitDecision & { reply: Reply }
  if (ip > now)
    return d('banned_ip', `ip ${keys.ip} banned for ${seconds(ip - now)} s more: refused at connect`)
  if (subnet > now)
    return d(
      'banned_subnet',
      `subnet ${keys.subnet} banned for ${seconds(subnet - now)} s more: refused at connect`,
    )
  return undefined
}
