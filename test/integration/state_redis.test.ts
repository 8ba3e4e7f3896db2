// The Redis StateStore (lib/state/redis) against a real redis-server: the same
// contract as the memory store, one EVALSHA per batch (as the server counts it),
// the script loaded again after SCRIPT FLUSH, every key prefixed and expiring.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createClient } from 'redis'
import { RedisStateStore } from '../../lib/state/redis'
import type { StateOp } from '../../lib/state/store'
import { startRedis, type RedisServer } from '../harness/redis'
import { stateStoreContract } from '../harness/state_contract'

let redis: RedisServer
let client: ReturnType<typeof createClient>

before(async () => {
  redis = await startRedis()
  client = createClient({ url: redis.url })
  client.on('error', () => {})
  await client.connect()
})
after(async () => {
  client?.destroy()
  await redis?.dispose()
})

const open = async () => new RedisStateStore(client, { prefix: 'test:' })

stateStoreContract('redis', open)

/** calls of a command, as redis-server counts them (INFO commandstats) */
async function calls(command: string): Promise<number> {
  const info = String(await client.sendCommand(['INFO', 'commandstats']))
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
}

const NOW = Date.now()
const EVERY_KIND: StateOp[] = [
  { op: 'hit', key: 'x:w', member: 'm', windowMs: 60_000, cap: 10 },
  { op: 'add', key: 'x:s', by: 3, windowMs: 60_000 },
  { op: 'set', key: 'x:v', value: 'v', ttlMs: 60_000 },
  { op: 'incr', key: 'x:c', ttlMs: 60_000 },
  { op: 'index', key: 'x:l', member: 'm', ttlMs: 60_000 },
]

describe('redis store', () => {
  test('a batch of every kind is one EVALSHA on the server, one round trip counted', async () => {
    const s = await open()
    await s.run([{ op: 'get', key: 'warm' }], NOW) // loads the script if this server lacks it
    const before = { evalsha: await calls('evalsha'), eval: await calls('eval') }
    const trips = s.roundTrips
    await s.run(EVERY_KIND, NOW)
    assert.equal((await calls('evalsha')) - before.evalsha, 1)
    assert.equal((await calls('eval')) - before.eval, 0)
    assert.equal(s.roundTrips - trips, 1)
  })

  test('every key is under the prefix and expires', async () => {
    const s = new RedisStateStore(client, { prefix: 'expiry:' })
    await s.run(EVERY_KIND, NOW)
    const keys = (await client.keys('expiry:*')).sort()
    assert.deepEqual(keys, ['expiry:x:c', 'expiry:x:l', 'expiry:x:s', 'expiry:x:v', 'expiry:x:w'])
    for (const k of keys) {
      const ttl = await client.pTTL(k)
      assert.ok(ttl > 0 && ttl <= 60_000, `${k}: PTTL ${ttl}`)
    }
  })

  test('after SCRIPT FLUSH the batch still runs (NOSCRIPT, then EVAL: two round trips), then EVALSHA again', async () => {
    const s = await open()
    await client.sendCommand(['SCRIPT', 'FLUSH'])
    const trips = s.roundTrips
    assert.deepEqual(await s.run([{ op: 'incr', key: 'flush', ttlMs: 1000 }], NOW), [1])
    assert.equal(s.roundTrips - trips, 2)
    assert.deepEqual(await s.run([{ op: 'incr', key: 'flush', ttlMs: 1000 }], NOW), [2])
    assert.equal(s.roundTrips - trips, 3)
  })

  test('a key of another kind reads as empty and is replaced on write, as in memory', async () => {
    const s = await open()
    await s.run([{ op: 'set', key: 'kind', value: 'text', ttlMs: 10_000 }], NOW)
    assert.deepEqual(
      await s.run(
        [
          { op: 'count', key: 'kind', windowMs: 1000 },
          { op: 'sum', key: 'kind', windowMs: 1000 },
          { op: 'members', key: 'kind' },
          { op: 'hit', key: 'kind', member: 'a', windowMs: 1000, cap: 5 },
          { op: 'get', key: 'kind' },
        ],
        NOW,
      ),
      [0, 0, [], 1, null],
    )
  })

  test('a hit window never holds more than cap members in Redis', async () => {
    const s = await open()
    for (let i = 0; i < 50; i++)
      await s.run([{ op: 'hit', key: 'bounded', member: `m${i}`, windowMs: 60_000, cap: 7 }], NOW + i)
    assert.equal(await client.zCard('test:bounded'), 7)
  })

  test('members, values and sums survive odd text: quotes, unicode, empty value', async () => {
    const s = await open()
    const odd = 'a"b\\c\u00e9\u{1F600} \n'
    const answers = await s.run(
      [
        { op: 'set', key: 'odd', value: odd, ttlMs: 1000 },
        { op: 'get', key: 'odd' },
        { op: 'set', key: 'empty', value: '', ttlMs: 1000 },
        { op: 'get', key: 'empty' },
        { op: 'index', key: 'oddl', member: odd, ttlMs: 1000 },
        { op: 'members', key: 'oddl' },
        { op: 'add', key: 'frac', by: 0.5, windowMs: 60_000 },
        { op: 'add', key: 'frac', by: 2, windowMs: 60_000 },
      ],
      NOW,
    )
    assert.deepEqual(answers, [null, odd, null, '', null, [odd], 0.5, 2.5])
  })
})
