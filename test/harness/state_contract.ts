// The behaviour every StateStore must have (lib/state/store), as one suite run
// against each kind: the memory store here (test/unit/state), Redis against a
// real redis-server. Times are the caller's: each batch passes its own `now`.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { StateStore } from '../../lib/state/store'

export function stateStoreContract(name: string, open: () => Promise<StateStore>): void {
  const T0 = 1_700_000_000_000
  let n = 0
  // Keys of one test never meet another's, so a shared server needs no flush between tests.
  const k = (s: string) => `${name}:${++n}:${s}`

  test(`${name}: hit counts distinct members in a sliding window`, async () => {
    const s = await open()
    const key = k('w')
    const hit = (member: string, at: number) =>
      s.run([{ op: 'hit', key, member, windowMs: 1000, cap: 100 }], T0 + at)
    assert.deepEqual(await hit('a', 0), [1])
    assert.deepEqual(await hit('a', 10), [1], 'the same member again is one')
    assert.deepEqual(await hit('b', 20), [2])
    assert.deepEqual(await s.run([{ op: 'count', key, windowMs: 1000 }], T0 + 1015), [1], 'a slid out')
    assert.deepEqual(await s.run([{ op: 'seen', key, member: 'b', windowMs: 1000 }], T0 + 1015), [1])
    assert.deepEqual(await s.run([{ op: 'seen', key, member: 'a', windowMs: 1000 }], T0 + 1015), [0])
    assert.deepEqual(await s.run([{ op: 'count', key, windowMs: 1000 }], T0 + 5000), [0])
    await s.close()
  })

  test(`${name}: hit keeps at most cap members`, async () => {
    const s = await open()
    const key = k('cap')
    let last: unknown
    for (let i = 0; i < 10; i++)
      [last] = await s.run([{ op: 'hit', key, member: `m${i}`, windowMs: 60_000, cap: 3 }], T0 + i)
    assert.equal(last, 3)
    assert.deepEqual(await s.run([{ op: 'seen', key, member: 'm9', windowMs: 60_000 }], T0 + 20), [1])
    assert.deepEqual(await s.run([{ op: 'seen', key, member: 'm0', windowMs: 60_000 }], T0 + 20), [0])
    await s.close()
  })

  test(`${name}: add sums over the window and forgets old buckets`, async () => {
    const s = await open()
    const key = k('sum')
    const W = 60_000
    assert.deepEqual(await s.run([{ op: 'add', key, by: 5, windowMs: W }], T0), [5])
    assert.deepEqual(await s.run([{ op: 'add', key, by: 2, windowMs: W }], T0 + 30_000), [7])
    assert.deepEqual(await s.run([{ op: 'sum', key, windowMs: W }], T0 + 30_000), [7])
    assert.deepEqual(
      await s.run([{ op: 'sum', key, windowMs: W }], T0 + 61_000),
      [2],
      'the first add slid out',
    )
    assert.deepEqual(await s.run([{ op: 'sum', key, windowMs: W }], T0 + 200_000), [0])
    await s.close()
  })

  test(`${name}: values, counters, ttl and delete`, async () => {
    const s = await open()
    const v = k('v')
    const c = k('c')
    const answers = await s.run(
      [
        { op: 'get', key: v },
        { op: 'set', key: v, value: 'x', ttlMs: 1000 },
        { op: 'get', key: v },
        { op: 'incr', key: c, ttlMs: 1000 },
        { op: 'incr', key: c, ttlMs: 5000 },
        { op: 'ttl', key: v },
        { op: 'ttl', key: k('absent') },
      ],
      T0,
    )
    assert.deepEqual(answers.slice(0, 5), [null, null, 'x', 1, 2])
    assert.ok(typeof answers[5] === 'number' && answers[5] > 900 && answers[5] <= 1000, `ttl ${answers[5]}`)
    assert.equal(answers[6], -2)
    assert.deepEqual(
      await s.run(
        [
          { op: 'del', key: v },
          { op: 'get', key: v },
        ],
        T0 + 1,
      ),
      [null, null],
    )
    await s.close()
  })

  test(`${name}: a listing's members expire on their own`, async () => {
    const s = await open()
    const key = k('list')
    await s.run(
      [
        { op: 'index', key, member: 'short', ttlMs: 1000 },
        { op: 'index', key, member: 'long', ttlMs: 10_000 },
        { op: 'index', key, member: 'gone', ttlMs: 10_000 },
        { op: 'unindex', key, member: 'gone' },
      ],
      T0,
    )
    const [now] = await s.run([{ op: 'members', key }], T0 + 10)
    assert.deepEqual([...(now as string[])].sort(), ['long', 'short'])
    assert.deepEqual(await s.run([{ op: 'members', key }], T0 + 2000), [['long']])
    assert.deepEqual(
      await s.run([{ op: 'expiries', key }], T0 + 2000),
      [['long', String(T0 + 10_000)]],
      'with its expiry',
    )
    assert.deepEqual(await s.run([{ op: 'expiries', key }], T0 + 10_000), [[]], 'none left')
    assert.deepEqual(await s.run([{ op: 'expiries', key: k('none') }], T0), [[]])
    await s.close()
  })

  test(`${name}: at answers when a member was last seen inside the window`, async () => {
    const s = await open()
    const key = k('at')
    await s.run([{ op: 'hit', key, member: 'a', windowMs: 1000, cap: 10 }], T0)
    await s.run([{ op: 'hit', key, member: 'a', windowMs: 1000, cap: 10 }], T0 + 400)
    const at = (member: string, when: number) => s.run([{ op: 'at', key, member, windowMs: 1000 }], when)
    assert.deepEqual(await at('a', T0 + 500), [T0 + 400], 'the latest time')
    assert.deepEqual(await at('b', T0 + 500), [0])
    assert.deepEqual(await at('a', T0 + 1400), [0], 'slid out')
    assert.deepEqual(await s.run([{ op: 'at', key: k('none'), member: 'a', windowMs: 1000 }], T0), [0])
    await s.close()
  })
}
