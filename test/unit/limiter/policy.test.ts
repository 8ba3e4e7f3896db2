// lib/limiter/policy over the memory store with a fake clock: windows and decay,
// distinct passwords, the delay and ban ladders, familiar sources, the shield,
// exempt networks, the containment trigger, the connect check, and the number of
// store round trips per attempt.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseSuspension, readSuspensionOp } from '../../../lib/containment/suspension'
import { parseLimitsConfig, type LimitsConfig } from '../../../lib/limiter/config'
import { attemptKeys, BAN_VERSION, connectKeys } from '../../../lib/limiter/keys'
import {
  banLengthMs,
  banOps,
  beforeOps,
  connectOps,
  delayFor,
  failureOps,
  familiarRefreshMs,
  isExempt,
  judgeBefore,
  judgeConnect,
  judgeFailure,
  readBefore,
  readFailure,
  successDelay,
  successOps,
} from '../../../lib/limiter/policy'
import { MemoryStateStore } from '../../../lib/state/memory'
import type { StateOp } from '../../../lib/state/store'

function config(main: Record<string, string | number | boolean> = {}): LimitsConfig {
  const p = parseLimitsConfig({ main: { secret: 'unit-test-secret-0123456789', ...main } })
  assert.ok(p.ok, p.ok ? '' : p.errors.join('; '))
  return p.cfg
}

const T0 = 1_700_000_000_000
const MIN = 60_000

/** One attempt through the policy as plugins/ldap_auth/limit runs it. */
function attempt(
  store: MemoryStateStore,
  cfg: LimitsConfig,
  now: number,
  ip: string,
  login: string,
  password: string,
  right: boolean,
) {
  let runs = 0
  const run = (ops: StateOp[]) => {
    runs++
    return store.runNow(ops, now)
  }
  const k = attemptKeys(cfg, cfg.key, ip, login, password)
  const exempt = isExempt(cfg, ip)
  const b = readBefore(run(beforeOps(cfg, k)), now)
  const gate = judgeBefore(cfg, k, b, exempt, now)
  if (gate.kind === 'refuse') return { gate, runs, delayMs: 0, bans: [] as string[], before: b }
  if (gate.kind === 'shield' || !right) {
    const counts = readFailure(run(failureOps(cfg, k, b.familiar)))
    const j = judgeFailure(cfg, k, b, counts, exempt)
    if (j.bans.length) run(banOps(cfg, j.bans, now))
    return { gate, runs, delayMs: j.delayMs, bans: j.bans.map((x) => x.decision.reason), counts, before: b }
  }
  const s = successOps(cfg, k, b, now)
  // an empty batch is not run (plugins/ldap_auth/limit): no round trip
  if (s.ops.length) run(s.ops)
  return {
    gate,
    runs,
    delayMs: successDelay(cfg, b, exempt),
    bans: [] as string[],
    suspension: s.suspension,
    before: b,
  }
}

describe('ladders', () => {
  test('the delay: none below delay_after, then doubling, capped at delay_max', () => {
    const cfg = { delay: 1000, delay_after: 3, delay_max: 15000 }
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => delayFor(cfg, n)),
      [0, 0, 0, 1000, 2000, 4000, 8000, 15000, 15000, 15000],
    )
    assert.equal(delayFor({ ...cfg, delay: 0 }, 10), 0)
  })

  test('the ban: 5 min, doubled per strike, capped at 24 h', () => {
    const cfg = { ban: 300, ban_max: 86400 }
    assert.deepEqual(
      [0, 1, 2, 3, 8, 9, 40].map((s) => banLengthMs(cfg, s) / 1000),
      [300, 600, 1200, 2400, 76800, 86400, 86400],
    )
  })
})

describe('distinct passwords', () => {
  test('ten repeats of one stale password count once: no delay, no ban, and the directory is shielded', () => {
    const cfg = config()
    const store = new MemoryStateStore()
    const results = Array.from({ length: 10 }, (_, i) =>
      attempt(store, cfg, T0 + i * 1000, '192.0.2.10', 'alice@example.com', 'stale', false),
    )
    assert.equal(results[0]!.gate.kind, 'ask', 'the first is asked')
    assert.ok(
      results.slice(1).every((r) => r.gate.kind === 'shield'),
      'the repeats never reach the directory',
    )
    assert.ok(results.every((r) => r.delayMs === 0 && r.bans.length === 0))
    assert.equal(results[9]!.counts!.pair, 1)
    assert.equal(
      attempt(store, cfg, T0 + 11_000, '192.0.2.10', 'alice@example.com', 'right', true).gate.kind,
      'ask',
    )
  })

  test('ten different wrong passwords: delayed from the 3rd, the pair banned at the 5th, then refused', () => {
    const cfg = config()
    const store = new MemoryStateStore()
    const r = Array.from({ length: 10 }, (_, i) =>
      attempt(store, cfg, T0 + i * 1000, '192.0.2.11', 'alice@example.com', `guess-${i}`, false),
    )
    assert.deepEqual(
      r.slice(0, 5).map((x) => x.delayMs),
      [0, 0, 1000, 2000, 4000],
    )
    assert.deepEqual(r[4]!.bans, ['ban_pair'])
    assert.ok(r.slice(5).every((x) => x.gate.kind === 'refuse' && x.gate.decision.reason === 'banned_pair'))
    // another login from the same address is still asked
    assert.equal(
      attempt(store, cfg, T0 + 20_000, '192.0.2.11', 'bob@example.com', 'x', false).gate.kind,
      'ask',
    )
  })

  test('the fingerprint is per login: one password sprayed over many logins counts for each', () => {
    const cfg = config()
    const store = new MemoryStateStore()
    let last
    for (let i = 0; i < 10; i++)
      last = attempt(store, cfg, T0 + i, '198.51.100.7', `user${i}@example.com`, 'Summer2024!', false)
    assert.equal(last!.counts!.ip, 10)
    assert.deepEqual(last!.bans, ['ban_ip'])
    const gate = attempt(store, cfg, T0 + 100, '198.51.100.7', 'user99@example.com', 'x', false).gate
    assert.equal(gate.kind === 'refuse' && gate.decision.reason, 'banned_ip')
  })
})

describe('windows', () => {
  test('failures leave their keys after window: the count decays to nothing', () => {
    const cfg = config({ window: 60 })
    const store = new MemoryStateStore()
    for (let i = 0; i < 3; i++) attempt(store, cfg, T0 + i * 10_000, '192.0.2.12', 'carol', `p${i}`, false)
    const at = (t: number) => attempt(store, cfg, t, '192.0.2.12', 'carol', 'right', true).before.counts.pair
    assert.equal(at(T0 + 45_000), 3)
    const store2 = new MemoryStateStore()
    for (let i = 0; i < 3; i++) attempt(store2, cfg, T0 + i * 10_000, '192.0.2.12', 'carol', `p${i}`, false)
    // at T0+65 s the first (T0) has left the window, the others not yet
    assert.equal(attempt(store2, cfg, T0 + 65_000, '192.0.2.12', 'carol', 'x', false).before.counts.ip, 2)
    assert.equal(attempt(store2, cfg, T0 + 200_000, '192.0.2.12', 'carol', 'y', false).before.counts.ip, 0)
  })

  test('a known-wrong password is asked again once its window is over', () => {
    const cfg = config({ window: 60 })
    const store = new MemoryStateStore()
    attempt(store, cfg, T0, '192.0.2.13', 'dave', 'old', false)
    assert.equal(attempt(store, cfg, T0 + 30_000, '192.0.2.13', 'dave', 'old', false).gate.kind, 'shield')
    assert.equal(attempt(store, cfg, T0 + 95_000, '192.0.2.13', 'dave', 'old', false).gate.kind, 'ask')
  })
})

describe('the ban ladder', () => {
  test('a ban ends on time; a repeat offence within ban_memory is banned twice as long; later it starts over', () => {
    const cfg = config({ pair_failures: 2, ban: 60, ban_max: 600, ban_memory: 3600, window: 3600 })
    const store = new MemoryStateStore()
    const ip = '203.0.113.5'
    attempt(store, cfg, T0, ip, 'erin', 'a', false)
    assert.deepEqual(attempt(store, cfg, T0 + 1, ip, 'erin', 'b', false).bans, ['ban_pair'])
    assert.equal(attempt(store, cfg, T0 + 59_000, ip, 'erin', 'c', false).gate.kind, 'refuse')
    // after 60 s: asked again, and the pair still has its failures: banned again, now for 120 s
    const again = attempt(store, cfg, T0 + 61_000, ip, 'erin', 'd', false)
    assert.equal(again.gate.kind, 'ask')
    assert.deepEqual(again.bans, ['ban_pair'])
    assert.equal(attempt(store, cfg, T0 + 61_000 + 119_000, ip, 'erin', 'e', false).gate.kind, 'refuse')
    assert.equal(attempt(store, cfg, T0 + 61_000 + 121_000, ip, 'erin', 'right', true).gate.kind, 'ask')
    // a ban after ban_memory (from the first) is a first ban again
    const k = attemptKeys(cfg, cfg.key, ip, 'erin', 'z')
    const later = T0 + 3_700_000
    const b = readBefore(store.runNow(beforeOps(cfg, k), later), later)
    assert.equal(b.strikes.pair, 0)
  })
})

describe('familiar sources (the victim keeps working)', () => {
  const cfg = config({ login_failures: 5, familiar_failures: 8, pair_failures: 0, ip_failures: 0 })

  test('past login_failures only unfamiliar sources are refused; the familiar one is asked without delay', () => {
    const store = new MemoryStateStore()
    assert.equal(attempt(store, cfg, T0, '192.0.2.50', 'frank', 'right', true).gate.kind, 'ask')
    for (let i = 0; i < 5; i++) attempt(store, cfg, T0 + MIN + i, `10.${i}.0.1`, 'frank', `spray${i}`, false)
    const stranger = attempt(store, cfg, T0 + 2 * MIN, '10.99.0.1', 'frank', 'right', true)
    assert.equal(stranger.gate.kind === 'refuse' && stranger.gate.decision.reason, 'login_locked')
    // the same /24 as the success is familiar
    const owner = attempt(store, cfg, T0 + 2 * MIN, '192.0.2.77', 'frank', 'right', true)
    assert.equal(owner.gate.kind, 'ask')
    assert.equal(owner.delayMs, 0)
    assert.equal(owner.before.familiar, true)
  })

  test('a familiar source has its own, larger budget', () => {
    const store = new MemoryStateStore()
    attempt(store, cfg, T0, '192.0.2.60', 'gina', 'right', true)
    const r = Array.from({ length: 9 }, (_, i) =>
      attempt(store, cfg, T0 + 1000 + i, '192.0.2.60', 'gina', `typo${i}`, false),
    )
    assert.ok(
      r.slice(0, 8).every((x) => x.gate.kind === 'ask'),
      'eight typos are asked (login_failures is 5)',
    )
    assert.equal(r[8]!.gate.kind === 'refuse' && r[8]!.gate.decision.reason, 'familiar_locked')
  })

  test('a source stops being familiar after familiar_ttl', () => {
    const short = config({ familiar_ttl: 3600 })
    const store = new MemoryStateStore()
    attempt(store, short, T0, '192.0.2.70', 'hank', 'right', true)
    assert.equal(
      attempt(store, short, T0 + 3_000_000, '192.0.2.70', 'hank', 'right', true).before.familiar,
      true,
    )
    // that success refreshed it; an hour after it, it is gone
    assert.equal(
      attempt(store, short, T0 + 3_000_000 + 3_601_000, '192.0.2.70', 'hank', 'x', false).before.familiar,
      false,
    )
  })

  test('the store holds the source as an HMAC token, never the address', () => {
    const store = new MemoryStateStore()
    attempt(store, cfg, T0, '192.0.2.80', 'ivy', 'right', true)
    const k = attemptKeys(cfg, cfg.key, '192.0.2.80', 'ivy', 'right')
    assert.match(k.source, /^[0-9a-f]{16}$/)
    assert.ok(!k.familiar.includes('192.0.2'))
  })
})

describe('exempt networks', () => {
  test('never delayed, banned or refused; still shielded from a known-wrong password', () => {
    const cfg = config({ exempt_networks: '192.0.2.0/24', pair_failures: 2 })
    const store = new MemoryStateStore()
    const r = Array.from({ length: 6 }, (_, i) =>
      attempt(store, cfg, T0 + i, '192.0.2.90', 'jack', `g${i}`, false),
    )
    assert.ok(r.every((x) => x.gate.kind === 'ask' && x.delayMs === 0 && x.bans.length === 0))
    assert.equal(attempt(store, cfg, T0 + 10, '192.0.2.90', 'jack', 'g0', false).gate.kind, 'shield')
    // the failures still counted for the login: a stranger is refused
    const stranger = attempt(
      store,
      config({ exempt_networks: '192.0.2.0/24', login_failures: 5 }),
      T0 + 20,
      '198.51.100.1',
      'jack',
      'x',
      false,
    )
    assert.equal(stranger.gate.kind, 'refuse')
  })
})

describe('containment trigger: a success from an unfamiliar source after a burst of failures', () => {
  test('on: the login is suspended (suspension record, rule unfamiliar_after_failures), the source not made familiar', () => {
    const cfg = config({ suspend_unfamiliar_after_failures: true, suspend_burst: 3 })
    const store = new MemoryStateStore()
    for (let i = 0; i < 3; i++) attempt(store, cfg, T0 + i, `10.${i}.0.1`, 'kate', `x${i}`, false)
    const r = attempt(store, cfg, T0 + 100, '10.50.0.1', 'kate', 'right', true)
    assert.equal(r.suspension?.reason, 'unfamiliar_after_failures')
    const s = parseSuspension('kate', store.runNow([readSuspensionOp('kate')], T0 + 200)[0]!)
    assert.equal(s?.rule, 'unfamiliar_after_failures')
    assert.equal(s?.since, T0 + 100)
    assert.equal(attempt(store, cfg, T0 + 300, '10.50.0.1', 'kate', 'right', true).before.familiar, false)
  })

  test('off (the default), from a familiar source, or without a burst: no suspension', () => {
    const store = new MemoryStateStore()
    for (let i = 0; i < 6; i++) attempt(store, config(), T0 + i, `10.${i}.0.1`, 'leo', `x${i}`, false)
    assert.equal(attempt(store, config(), T0 + 100, '10.50.0.1', 'leo', 'right', true).suspension, undefined)
    const on = config({ suspend_unfamiliar_after_failures: true, suspend_burst: 3 })
    const s2 = new MemoryStateStore()
    attempt(s2, on, T0, '192.0.2.1', 'mia', 'right', true)
    for (let i = 0; i < 4; i++) attempt(s2, on, T0 + 1 + i, `10.${i}.0.1`, 'mia', `x${i}`, false)
    assert.equal(attempt(s2, on, T0 + 100, '192.0.2.9', 'mia', 'right', true).suspension, undefined)
    assert.equal(
      attempt(new MemoryStateStore(), on, T0, '10.9.0.1', 'ned', 'right', true).suspension,
      undefined,
    )
  })
})

describe('the connect check and round trips', () => {
  test('an address or subnet ban is 421 4.7.0 at connect; a pair ban is not', () => {
    const cfg = config({ ip_failures: 2, subnet_failures: 3, pair_failures: 1 })
    const store = new MemoryStateStore()
    const check = (ip: string, now: number) => {
      const k = connectKeys(cfg, ip)
      return judgeConnect(k, store.runNow(connectOps(k), now), now)
    }
    attempt(store, cfg, T0, '192.0.2.1', 'a', 'x', false)
    assert.equal(check('192.0.2.1', T0 + 1), undefined, 'a pair ban only')
    attempt(store, cfg, T0 + 2, '192.0.2.1', 'b', 'x', false)
    const d = check('192.0.2.1', T0 + 3)
    assert.deepEqual([d?.reason, d?.reply.code, d?.reply.enh], ['banned_ip', 421, '4.7.0'])
    attempt(store, cfg, T0 + 4, '192.0.2.2', 'c', 'x', false)
    assert.equal(check('192.0.2.200', T0 + 5)?.reason, 'banned_subnet')
    assert.equal(check('192.0.3.1', T0 + 5), undefined)
  })

  test('at most three store round trips per attempt, three only when a ban is earned', () => {
    const cfg = config({ pair_failures: 2 })
    const store = new MemoryStateStore()
    const runs = [
      attempt(store, cfg, T0, '192.0.2.1', 'o', 'right', true).runs,
      attempt(store, cfg, T0, '192.0.2.1', 'o', 'x', false).runs,
      attempt(store, cfg, T0, '192.0.2.1', 'o', 'y', false).runs,
      attempt(store, cfg, T0, '192.0.2.1', 'o', 'z', false).runs,
    ]
    assert.deepEqual(runs, [2, 2, 3, 1])
  })

  test('a success from a familiar source with nothing to forgive: one round trip (the gate), nothing written', () => {
    const cfg = config({ familiar_ttl: 86400 })
    const store = new MemoryStateStore()
    assert.equal(
      attempt(store, cfg, T0, '192.0.2.1', 'o', 'right', true).runs,
      2,
      'unfamiliar: made familiar',
    )
    assert.equal(attempt(store, cfg, T0 + MIN, '192.0.2.1', 'o', 'right', true).runs, 1)
    const k = attemptKeys(cfg, cfg.key, '192.0.2.1', 'o', 'right')
    const b = readBefore(store.runNow(beforeOps(cfg, k), T0 + MIN), T0 + MIN)
    assert.equal(b.familiarAt, T0, 'the mark is the first success: not written again')
    assert.deepEqual(successOps(cfg, k, b, T0 + MIN).ops, [])
  })

  test('a familiar success writes the mark again once it is older than familiarRefreshMs, and forgives what was counted', () => {
    const cfg = config({ familiar_ttl: 86400 })
    assert.equal(familiarRefreshMs(cfg), 3_600_000, 'an hour')
    assert.equal(familiarRefreshMs({ familiar_ttl: 600 }), 60_000, 'a tenth of a short familiar_ttl')
    const store = new MemoryStateStore()
    attempt(store, cfg, T0, '192.0.2.1', 'o', 'right', true)
    const k = attemptKeys(cfg, cfg.key, '192.0.2.1', 'o', 'right')
    const later = T0 + 3_600_000
    const b = readBefore(store.runNow(beforeOps(cfg, k), later), later)
    assert.deepEqual(
      successOps(cfg, k, b, later).ops.map((op) => op.op),
      ['hit', 'del', 'del'],
    )
    // a typo from the familiar source, then the right password: the typo is forgiven
    attempt(store, cfg, T0 + MIN, '192.0.2.1', 'o', 'typo', false)
    const c = readBefore(store.runNow(beforeOps(cfg, k), T0 + 2 * MIN), T0 + 2 * MIN)
    assert.deepEqual(
      successOps(cfg, k, c, T0 + 2 * MIN).ops.map((op) => [op.op, op.key]),
      [
        ['del', k.failPair],
        ['del', k.failFamiliar],
      ],
    )
    attempt(store, cfg, T0 + 2 * MIN, '192.0.2.1', 'o', 'right', true)
    const d = readBefore(store.runNow(beforeOps(cfg, k), T0 + 3 * MIN), T0 + 3 * MIN)
    assert.deepEqual([d.counts.pair, d.counts.familiar], [0, 0])
  })

  test('a ban rewrites the listing version (lib/limiter/ban_mirror reads the listing again)', () => {
    const cfg = config({ pair_failures: 0, ip_failures: 1 })
    const store = new MemoryStateStore()
    const version = () => store.runNow([{ op: 'get', key: BAN_VERSION }], T0 + 10)[0]
    assert.equal(version(), null)
    attempt(store, cfg, T0, '192.0.2.1', 'o', 'x', false)
    const v1 = version()
    assert.equal(typeof v1, 'string')
    attempt(store, cfg, T0 + 1, '192.0.2.1', 'o', 'y', false)
    assert.equal(attempt(store, cfg, T0 + 2, '192.0.2.5', 'o', 'y', false).bans.length, 1)
    assert.notEqual(version(), v1)
  })

  test('IPv6: a client is its /64, the subnet its /48', () => {
    const cfg = config({ pair_failures: 0, ip_failures: 2 })
    const store = new MemoryStateStore()
    attempt(store, cfg, T0, '2001:db8:1:2::1', 'p', 'x', false)
    const r = attempt(store, cfg, T0 + 1, '2001:db8:1:2:ffff::9', 'q', 'x', false)
    assert.deepEqual(r.bans, ['ban_ip'], 'another address of the same /64 is the same client')
    const k = attemptKeys(cfg, cfg.key, '2001:db8:1:2:ffff::9', 'q', 'x')
    assert.equal(k.ip, '2001:db8:1:2::/64')
    assert.equal(k.subnet, '2001:db8:1::/48')
  })
})
