// lib/limiter/ban_mirror over the memory store with a fake clock: the copy holds the
// address and subnet bans in force with their expiry, reads the listing again only
// when its version changed, keeps a ban noted during a refresh, goes stale when the
// store fails, and answers nothing while stale.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { BanMirror } from '../../../lib/limiter/ban_mirror'
import { parseLimitsConfig } from '../../../lib/limiter/config'
import { attemptKeys } from '../../../lib/limiter/keys'
import { banOps, type Ban } from '../../../lib/limiter/policy'
import { MemoryStateStore } from '../../../lib/state/memory'
import type { StateAnswer, StateOp } from '../../../lib/state/store'

const T0 = 1_700_000_000_000

function setup() {
  const p = parseLimitsConfig({ main: { secret: 'unit-test-secret-0123456789' } })
  assert.ok(p.ok)
  const cfg = p.cfg
  const store = new MemoryStateStore()
  let now = T0
  const batches: StateOp[][] = []
  let failing = false
  const mirror = new BanMirror({
    run: async (ops: readonly StateOp[], at: number): Promise<StateAnswer[]> => {
      batches.push([...ops])
      if (failing) throw new Error('down')
      return store.runNow(ops, at)
    },
    intervalMs: 50,
    staleMs: 150,
    clock: () => now,
  })
  const ban = (kind: Ban['kind'], ip: string, lengthMs: number) => {
    const k = attemptKeys(cfg, cfg.key, ip, 'alice', 'x')
    const key = kind === 'ip' ? k.banIp : kind === 'subnet' ? k.banSubnet : k.banPair
    const b = { kind, key, strikesKey: `s:${key}`, strikes: 0, lengthMs } as Ban
    store.runNow(banOps(cfg, [b], now), now)
    return key
  }
  return {
    mirror,
    store,
    batches,
    ban,
    at: (ms: number) => (now = T0 + ms),
    fail: (f: boolean) => (failing = f),
  }
}

describe('BanMirror', () => {
  test('holds the address and subnet bans in force with their expiry; a pair ban is not its business', async () => {
    const s = setup()
    const ip = s.ban('ip', '192.0.2.1', 60_000)
    const subnet = s.ban('subnet', '198.51.100.7', 120_000)
    const pair = s.ban('pair', '192.0.2.9', 60_000)
    assert.equal(s.mirror.fresh(), false, 'not read yet: nothing to answer from')
    await s.mirror.refresh()
    assert.equal(s.mirror.fresh(), true)
    assert.equal(s.mirror.until(ip), T0 + 60_000)
    assert.equal(s.mirror.until(subnet), T0 + 120_000)
    assert.equal(s.mirror.until(pair), 0)
    assert.equal(s.mirror.active(), 2)
    s.at(60_000)
    assert.equal(s.mirror.until(ip), 0, 'expired here without asking the store')
    assert.equal(s.mirror.until(subnet), T0 + 120_000)
  })

  test('reads the listing again only when its version changed: one op per refresh otherwise', async () => {
    const s = setup()
    await s.mirror.refresh()
    assert.equal(s.batches.length, 2, 'the first read: the version, then the listing')
    s.batches.length = 0
    s.at(50)
    await s.mirror.refresh()
    assert.deepEqual(
      s.batches.map((b) => b.map((op) => op.op)),
      [['get']],
    )
    const ip = s.ban('ip', '192.0.2.2', 60_000)
    s.at(100)
    await s.mirror.refresh()
    assert.equal(s.batches.length, 3, 'changed: read again')
    assert.equal(s.mirror.until(ip), T0 + 50 + 60_000)
    assert.equal(s.mirror.counts.reads, 2)
  })

  test('a ban noted by this process is known at once, and kept over a refresh sent before it', async () => {
    const s = setup()
    await s.mirror.refresh()
    const key = 'limit:ban:ip:192.0.2.3'
    s.at(10)
    s.ban('subnet', '203.0.113.1', 1000)
    const pending = s.mirror.refresh()
    s.at(11)
    s.mirror.note(key, T0 + 11 + 5000)
    assert.equal(s.mirror.until(key), T0 + 11 + 5000)
    await pending
    assert.equal(s.mirror.until(key), T0 + 11 + 5000, 'not dropped by the older answer')
    s.mirror.note('limit:ban:pair:x|y', T0 + 9999)
    assert.equal(s.mirror.until('limit:ban:pair:x|y'), 0)
  })

  test('a store that fails: the copy goes stale after staleMs and answers nothing; back: fresh again', async () => {
    const s = setup()
    await s.mirror.refresh()
    s.fail(true)
    s.at(100)
    await s.mirror.refresh()
    assert.equal(s.mirror.fresh(), true, 'within staleMs of the last answer')
    s.at(151)
    assert.equal(s.mirror.fresh(), false)
    assert.equal(s.mirror.counts.failures, 1)
    s.fail(false)
    await s.mirror.refresh()
    assert.equal(s.mirror.fresh(), true)
  })

  test('one refresh at a time', async () => {
    const s = setup()
    await Promise.all([s.mirror.refresh(), s.mirror.refresh(), s.mirror.refresh()])
    assert.equal(s.mirror.counts.refreshes, 1)
  })

  test('refreshes while used; idle for idleMs the timer stops, and the next use starts it again', async () => {
    const s = setup()
    assert.equal(s.mirror.use(), false, 'first use: not read yet (the caller asks the store)')
    assert.equal(s.mirror.running, true)
    await s.mirror.refresh()
    s.at(5_000)
    s.mirror.tick()
    assert.equal(s.mirror.running, true, 'used 5 s ago')
    s.at(10_001)
    s.mirror.tick()
    assert.equal(s.mirror.running, false, 'idle 10 s: stopped')
    assert.equal(s.mirror.use(), false, 'stale after the pause')
    assert.equal(s.mirror.running, true)
    s.mirror.stop()
  })
})
