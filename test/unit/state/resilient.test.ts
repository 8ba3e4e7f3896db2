// The fallback state machine of lib/state/resilient over a fake primary whose
// answers the test controls (answer, fail, hang), with a fake clock for the probes.
// No timed assertions: a hung primary is bounded by the store's timeout, and the
// tests only check which store answered and what was reported.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MemoryStateStore } from '../../../lib/state/memory'
import { ResilientStore, type ResilientOptions, type StateChange } from '../../../lib/state/resilient'
import {
  StateUnavailableError,
  type StateAnswer,
  type StateOp,
  type StateStore,
} from '../../../lib/state/store'
import { stateStoreContract } from '../../harness/state_contract'

type Mode = 'answer' | 'fail' | 'hang'

/** A primary that answers from its own memory store, fails, or never answers. */
class FakePrimary implements StateStore {
  readonly kind = 'redis' as const
  mode: Mode = 'answer'
  calls = 0
  private readonly data = new MemoryStateStore()
  async run(ops: readonly StateOp[], now: number): Promise<StateAnswer[]> {
    this.calls++
    if (this.mode === 'fail') throw new Error('ECONNRESET')
    if (this.mode === 'hang') return new Promise(() => {})
    return this.data.runNow(ops, now)
  }
  async close(): Promise<void> {}
}

function setup(opts: Partial<ResilientOptions> = {}) {
  const primary = new FakePrimary()
  const changes: StateChange[] = []
  let time = 0
  let connected = true
  const store = new ResilientStore(primary, {
    timeoutMs: 20,
    retryMs: 1000,
    failure: 'open',
    connected: () => connected,
    onChange: (c) => changes.push(c),
    clock: () => time,
    ...opts,
  })
  return {
    primary,
    store,
    changes,
    tick: (ms: number) => (time += ms),
    setConnected: (c: boolean) => (connected = c),
  }
}

const INCR: StateOp[] = [{ op: 'incr', key: 'n', ttlMs: 60_000 }]

stateStoreContract('resilient over an answering primary', async () => setup().store)

describe('resilient store', () => {
  test('up: batches go to the primary; the first connection is not reported', async () => {
    const { store, primary, changes } = setup()
    assert.deepEqual(await store.run(INCR, 0), [1])
    assert.deepEqual(await store.run(INCR, 0), [2])
    assert.equal(primary.calls, 2)
    assert.deepEqual(changes, [])
    assert.deepEqual(store.stats(), { state: 'up', primary: 2, degraded: 0, failures: 0 })
  })

  test('a failing primary: the fallback answers, one down line, no retry before retryMs, then up again', async () => {
    const { store, primary, changes, tick } = setup()
    await store.run(INCR, 0)
    primary.mode = 'fail'
    assert.deepEqual(await store.run(INCR, 0), [1], 'the fallback counts from zero')
    assert.deepEqual(changes, [{ up: false, reason: 'ECONNRESET' }])
    const calls = primary.calls
    assert.deepEqual(await store.run(INCR, 0), [2])
    assert.deepEqual(await store.run(INCR, 0), [3])
    assert.equal(primary.calls, calls, 'down: no batch waits for the primary')
    tick(1000)
    assert.deepEqual(await store.run(INCR, 0), [4], 'the probe failed: the fallback again')
    assert.equal(primary.calls, calls + 1)
    assert.equal(changes.length, 1, 'still down: nothing new to report')
    primary.mode = 'answer'
    assert.deepEqual(await store.run(INCR, 0), [5], 'not due yet: the fallback')
    tick(1000)
    assert.deepEqual(await store.run(INCR, 0), [2], 'the probe answered: the primary view again')
    assert.deepEqual(changes, [{ up: false, reason: 'ECONNRESET' }, { up: true }])
    assert.deepEqual(store.stats(), { state: 'up', primary: 2, degraded: 5, failures: 2 })
  })

  test('a hung primary is given up after timeoutMs; while it probes, other batches do not wait', async () => {
    const { store, primary, changes, tick } = setup()
    primary.mode = 'hang'
    assert.deepEqual(await store.run(INCR, 0), [1])
    assert.deepEqual(changes, [{ up: false, reason: 'no answer within 20 ms' }])
    tick(1000)
    const probe = store.run(INCR, 0)
    const calls = primary.calls
    assert.deepEqual(await store.run(INCR, 0), [2], 'a batch during the probe answers at once')
    assert.equal(primary.calls, calls)
    assert.deepEqual(await probe, [3])
  })

  test('not connected: no wait at all, and the probe goes as soon as the connection is back', async () => {
    const { store, primary, changes, setConnected } = setup()
    setConnected(false)
    assert.deepEqual(await store.run(INCR, 0), [1])
    assert.equal(primary.calls, 0)
    assert.deepEqual(changes, [{ up: false, reason: 'not connected' }])
    setConnected(true)
    assert.deepEqual(await store.run(INCR, 0), [1], 'the primary at once, without waiting for retryMs')
    assert.deepEqual(changes, [{ up: false, reason: 'not connected' }, { up: true }])
  })

  test('fail closed: a batch the primary cannot answer is rejected with StateUnavailableError', async () => {
    const { store, primary } = setup({ failure: 'closed' })
    primary.mode = 'fail'
    await assert.rejects(store.run(INCR, 0), StateUnavailableError)
    await assert.rejects(store.run(INCR, 0), /unavailable \(down\)/)
    primary.mode = 'answer'
    const { store: s2, setConnected } = setup({ failure: 'closed' })
    setConnected(false)
    await assert.rejects(s2.run(INCR, 0), /unavailable \(not connected\)/)
  })

  test('a primary that answers after the timeout is not used for that batch (the fallback answered)', async () => {
    let release: (a: StateAnswer[]) => void = () => {}
    const slow: StateStore = {
      kind: 'redis',
      run: () => new Promise((resolve) => (release = resolve)),
      close: async () => {},
    }
    const store = new ResilientStore(slow, { timeoutMs: 5, retryMs: 1000, failure: 'open' })
    const answers = await store.run([{ op: 'get', key: 'k' }], 0)
    release(['late'])
    assert.deepEqual(answers, [null])
  })
})

describe('a primary that keeps batches unanswered (hung)', () => {
  test('past maxPending nothing more is sent, not even a probe; answered again: probed and up', async () => {
    const { primary, store, tick } = setup({ maxPending: 3 })
    primary.mode = 'hang'
    // concurrently while up: each waits out its deadline, then the fallback answers
    await Promise.all([store.run(INCR, 0), store.run(INCR, 0), store.run(INCR, 0)])
    assert.equal(primary.calls, 3)
    for (let i = 0; i < 5; i++) {
      tick(2000)
      await store.run(INCR, 0)
    }
    assert.equal(primary.calls, 3, 'three unanswered: no probe')
    assert.equal(store.stats().state, 'down')
  })

  test('an unanswered batch stops counting once the primary answers or fails it', async () => {
    let release: (() => void) | undefined
    const slow: StateStore = {
      kind: 'redis',
      run: () => new Promise<StateAnswer[]>((r) => (release = () => r([1]))),
      close: async () => {},
    }
    let time = 0
    const store = new ResilientStore(slow, {
      timeoutMs: 5,
      retryMs: 10,
      failure: 'open',
      maxPending: 1,
      clock: () => time,
    })
    assert.deepEqual(await store.run(INCR, 0), [1], 'past its deadline: the fallback')
    time += 100
    await store.run(INCR, 0)
    assert.equal(store.stats().failures, 1, 'the second was not sent (one unanswered)')
    release!()
    await new Promise((r) => setImmediate(r))
    time += 100
    const third = store.run(INCR, 0)
    release!()
    assert.deepEqual(await third, [1], 'sent again and answered by the primary')
    assert.equal(store.stats().state, 'up')
  })
})
