import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryStateStore } from '../../../lib/state/memory'
import { stateStoreContract } from '../../harness/state_contract'

stateStoreContract('memory', async () => new MemoryStateStore())

test('memory: past maxKeys, expired keys go first, then the least recently written', () => {
  const s = new MemoryStateStore({ maxKeys: 3 })
  s.runNow([{ op: 'set', key: 'old', value: '1', ttlMs: 10 }], 0)
  s.runNow([{ op: 'set', key: 'a', value: '1', ttlMs: 1000 }], 1)
  s.runNow([{ op: 'set', key: 'b', value: '1', ttlMs: 1000 }], 2)
  s.runNow([{ op: 'set', key: 'c', value: '1', ttlMs: 1000 }], 20)
  assert.equal(s.size, 3)
  assert.deepEqual(
    s.runNow(
      [
        { op: 'get', key: 'old' },
        { op: 'get', key: 'a' },
      ],
      21,
    ),
    [null, '1'],
  )
  s.runNow([{ op: 'set', key: 'd', value: '1', ttlMs: 1000 }], 22)
  assert.equal(s.size, 3)
  assert.deepEqual(
    s.runNow(
      [
        { op: 'get', key: 'a' },
        { op: 'get', key: 'b' },
        { op: 'get', key: 'd' },
      ],
      23,
    ),
    [null, '1', '1'],
  )
})

// A suspension, a ban and a listing are written once and then only read: were eviction by write
// order alone, a flood of failed AUTH attempts (each a few new counters: fail:ip, fail:pair, ...)
// from enough addresses would push them out and lift them. Counters go first.
test('memory: past maxKeys, counters go before the records they would push out', () => {
  const s = new MemoryStateStore({ maxKeys: 4 })
  const year = 365 * 24 * 3600 * 1000
  s.runNow(
    [
      { op: 'set', key: 'contain:susp:alice', value: '{}', ttlMs: year },
      { op: 'index', key: 'contain:suspended', member: 'alice', ttlMs: year },
      { op: 'set', key: 'limit:ban:ip:192.0.2.9/32', value: '1', ttlMs: 300_000 },
    ],
    0,
  )
  for (let i = 0; i < 50; i++)
    s.runNow(
      [
        { op: 'hit', key: `limit:fail:pair:198.51.100.${i}|u${i}`, member: 'x', windowMs: 900_000, cap: 50 },
        { op: 'add', key: `contain:n:messages:u${i}`, by: 1, windowMs: 900_000 },
      ],
      1 + i,
    )
  assert.equal(s.size, 4)
  assert.deepEqual(
    s.runNow(
      [
        { op: 'get', key: 'contain:susp:alice' },
        { op: 'members', key: 'contain:suspended' },
        { op: 'get', key: 'limit:ban:ip:192.0.2.9/32' },
      ],
      100,
    ),
    ['{}', ['alice'], '1'],
  )
})
