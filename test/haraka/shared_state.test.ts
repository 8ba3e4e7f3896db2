// haraka/shared_state: the store shared_state.ini chooses, on server.notes, opened at
// init, closed at shutdown; the cluster secret agreed through Redis. A plugin double
// whose config.get returns the ini values (no config folder: read as they are).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Connection, Plugin } from 'haraka'
import {
  closeSharedState,
  clusterSecret,
  loadSharedState,
  sharedState,
  sharedSecret,
  sharedStateStats,
  useSharedState,
} from '../../haraka/shared_state'
import { localMetrics } from '../../haraka/metrics'
import { startRedis, type RedisServer } from '../harness/redis'

type Ini = Record<string, Record<string, string>>

/** Every double's log, in one list: the store's own lines go through the first plugin that loaded it. */
const lines: string[] = []

function fakePlugin(files: Record<string, Ini>) {
  const hooks: Array<[string, string]> = []
  const plugin = {
    config: { get: (name: string) => files[name] ?? {} },
    register_hook: (hook: string, method: string) => hooks.push([hook, method]),
    loginfo: (m: string) => lines.push(`info ${m}`),
    lognotice: (m: string) => lines.push(`notice ${m}`),
    logwarn: (m: string) => lines.push(`warn ${m}`),
    logerror: (m: string) => lines.push(`error ${m}`),
  }
  return { plugin: plugin as unknown as Plugin & Record<string, any>, hooks }
}

async function metric(line: string): Promise<number> {
  const found = (await localMetrics()).split('\n').find((l) => l.startsWith(`${line} `))
  return found ? Number(found.slice(line.length + 1)) : 0
}

const session = (notes: Record<string, unknown>) => ({ server: { notes } }) as unknown as Connection

let redis: RedisServer
before(async () => {
  redis = await startRedis()
})
after(async () => {
  await closeSharedState()
  await redis?.dispose()
})

describe('shared state', () => {
  test('default: memory, one store per process (server.notes), opened by the init hooks', async () => {
    const { plugin, hooks } = fakePlugin({})
    useSharedState(plugin)
    assert.deepEqual(hooks, [
      ['init_master', 'shared_state_init_master'],
      ['init_child', 'shared_state_init_child'],
    ])
    assert.match(lines.join('\n'), /abuse-limit state in memory \(this process only\)/)
    const notes: Record<string, unknown> = {}
    let called = 0
    plugin.shared_state_init_master(() => called++, { notes })
    assert.equal(called, 1)
    const store = sharedState(session(notes))
    assert.equal(store.kind, 'memory')
    assert.equal(sharedState(session(notes)), store, 'the same store for every session')
    const before = await metric('haraka_shared_state_batches_total{answered_by="memory"}')
    await store.run([{ op: 'get', key: 'k' }], Date.now())
    assert.equal(await metric('haraka_shared_state_batches_total{answered_by="memory"}'), before + 1)
    assert.equal(await metric('haraka_shared_state_up'), 1)
    // the master of workers serves nobody: it opens nothing
    const master: Record<string, unknown> = {}
    plugin.shared_state_init_master(() => called++, { notes: master, cluster: {} })
    assert.deepEqual(Object.keys(master), [])
  })

  test('memory and nodes=4 is a warning at load', () => {
    const { plugin } = fakePlugin({
      'smtp.ini': { main: { nodes: '4' } },
      'shared_state.ini': { main: { max_keys: '5000' } },
    })
    loadSharedState(plugin)
    assert.match(lines.join('\n'), /warn shared_state.ini: store=memory with smtp.ini nodes=4/)
  })

  test('store=redis, Redis not there: batches answered at once from memory, one warning', async () => {
    lines.length = 0
    const { plugin } = fakePlugin({
      'shared_state.ini': { main: { store: 'redis', prefix: 'unit:' } },
      'redis.ini': { server: { host: '127.0.0.1', port: '1' }, opts: { password: 'never-logged' } },
    })
    loadSharedState(plugin)
    const notes: Record<string, unknown> = {}
    const store = sharedState(session(notes))
    assert.equal(store.kind, 'redis')
    const fallback = await metric('haraka_shared_state_batches_total{answered_by="memory"}')
    assert.deepEqual(await store.run([{ op: 'incr', key: 'n', ttlMs: 1000 }], Date.now()), [1])
    assert.deepEqual(await store.run([{ op: 'incr', key: 'n', ttlMs: 1000 }], Date.now()), [2])
    const stats = sharedStateStats(session(notes))
    assert.equal(stats.kind, 'redis')
    assert.ok(
      stats.kind === 'redis' && stats.state === 'down' && stats.degraded === 2 && stats.roundTrips === 0,
    )
    const text = lines.join('\n')
    assert.match(text, /abuse-limit state in redis at redis:\/\/127\.0\.0\.1:1 \(prefix unit:\)/)
    assert.equal((text.match(/unavailable \(not connected\)/g) ?? []).length, 1)
    assert.doesNotMatch(text, /never-logged/)
    assert.equal(await metric('haraka_shared_state_batches_total{answered_by="memory"}'), fallback + 2)
    assert.equal(await metric('haraka_shared_state_up'), 0)
    // no shared secret from a Redis that is not there: this process's own
    assert.equal(sharedSecret(session(notes)), undefined)
    assert.equal((await clusterSecret(session(notes))).length, 32)
  })

  test('store=redis: two processes get one secret through Redis, known at once to sharedSecret', async () => {
    const { plugin } = fakePlugin({
      'shared_state.ini': { main: { store: 'redis', prefix: 'secret-test:' } },
      'redis.ini': { server: { host: '127.0.0.1', port: String(redis.port) } },
    })
    useSharedState(plugin)
    const one: Record<string, unknown> = {}
    const two: Record<string, unknown> = {}
    plugin.shared_state_init_child(() => {}, { notes: one })
    plugin.shared_state_init_child(() => {}, { notes: two })
    const ready = async (notes: Record<string, unknown>) => {
      for (let i = 0; i < 100; i++) {
        await sharedState(session(notes)).run([{ op: 'get', key: 'probe' }], Date.now())
        const s = sharedStateStats(session(notes))
        if (s.kind === 'redis' && s.state === 'up') return
        await new Promise((r) => setTimeout(r, 50))
      }
      throw new Error('never connected')
    }
    await ready(one)
    await ready(two)
    const trips = await metric('haraka_shared_state_round_trips_total')
    const byRedis = await metric('haraka_shared_state_batches_total{answered_by="redis"}')
    await sharedState(session(one)).run([{ op: 'get', key: 'probe' }], Date.now())
    assert.equal(await metric('haraka_shared_state_round_trips_total'), trips + 1)
    assert.equal(await metric('haraka_shared_state_batches_total{answered_by="redis"}'), byRedis + 1)
    assert.equal(await metric('haraka_shared_state_up'), 1)
    const a = await clusterSecret(session(one))
    const b = sharedSecret(session(two))
    assert.ok(b, 'fetched when the connection became ready')
    assert.equal(a.length, 32)
    assert.deepEqual(a, b)
    assert.deepEqual(sharedSecret(session(one)), a)
    assert.equal(await redis.command('GET', 'secret-test:secret'), `$64\r\n${a.toString('hex')}\r\n`)
    // what one process writes, the other reads
    await sharedState(session(one)).run(
      [{ op: 'set', key: 'limit:ban', value: 'x', ttlMs: 10_000 }],
      Date.now(),
    )
    assert.deepEqual(await sharedState(session(two)).run([{ op: 'get', key: 'limit:ban' }], Date.now()), [
      'x',
    ])
  })

  test('shutdown closes the connection and forgets the store', async () => {
    const notes: Record<string, unknown> = {}
    sharedState(session(notes))
    assert.ok(Object.keys(notes).length > 0)
    await closeSharedState()
    assert.deepEqual(Object.keys(notes), [])
  })
})
