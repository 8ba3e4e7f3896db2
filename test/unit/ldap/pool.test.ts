import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Pool, PoolClosedError, PoolTimeoutError } from '../../../lib/ldap/pool'

function counterPool(max: number, acquireTimeoutMs = 200) {
  let created = 0
  const destroyed: number[] = []
  const pool = new Pool<number>({
    max,
    acquireTimeoutMs,
    idleTimeoutMs: 60000,
    create: async () => ++created,
    destroy: (n) => {
      destroyed.push(n)
    },
    validate: (n) => n !== 2,
  })
  return { pool, destroyed, created: () => created }
}

describe('Pool', () => {
  test('never holds more than max resources and reuses released ones', async () => {
    const { pool, created } = counterPool(2)
    const a = await pool.acquire()
    const b = await pool.acquire()
    const waiting = pool.acquire()
    assert.equal(pool.total, 2)
    pool.release(a)
    assert.equal(await waiting, a)
    pool.release(a)
    pool.release(b)
    assert.equal(created(), 2)
    await pool.close()
  })

  test('a waiter times out when nothing is released', async () => {
    const { pool } = counterPool(1, 50)
    await pool.acquire()
    await assert.rejects(pool.acquire(), PoolTimeoutError)
    await pool.close()
  })

  test('discard frees the slot for a waiter, who gets a fresh resource', async () => {
    const { pool, destroyed } = counterPool(1)
    const a = await pool.acquire()
    const waiting = pool.acquire()
    pool.discard(a)
    assert.equal(await waiting, 2)
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(destroyed, [1])
    await pool.close()
  })

  test('an idle resource that fails validation is replaced', async () => {
    const { pool, destroyed } = counterPool(2)
    const one = await pool.acquire()
    const two = await pool.acquire()
    pool.release(one)
    pool.release(two) // 2 is "broken"
    assert.equal(await pool.acquire(), 1)
    assert.equal(await pool.acquire(), 3)
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(destroyed, [2])
    await pool.close()
  })

  test('use() keeps a resource on an expected error and discards it otherwise', async () => {
    const { pool, destroyed } = counterPool(1)
    await assert.rejects(
      pool.use(
        async () => Promise.reject(new RangeError('result')),
        (e) => e instanceof RangeError,
      ),
    )
    assert.equal(pool.idleCount, 1)
    await assert.rejects(pool.use(async () => Promise.reject(new Error('socket'))))
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(destroyed, [1])
    assert.equal(pool.total, 0)
    await pool.close()
  })

  test('close() destroys idle resources and rejects waiters and new callers', async () => {
    const { pool, destroyed } = counterPool(1)
    const a = await pool.acquire()
    const waiting = pool.acquire()
    await pool.close()
    await assert.rejects(waiting, PoolClosedError)
    await assert.rejects(pool.acquire(), PoolClosedError)
    pool.release(a)
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(destroyed, [1])
  })

  test('a create() that hangs fails after createTimeoutMs, frees its slot, and what it makes later is destroyed', async () => {
    const destroyed: string[] = []
    let finish: (v: string) => void = () => undefined
    const pool = new Pool<string>({
      max: 1,
      acquireTimeoutMs: 1000,
      idleTimeoutMs: 60000,
      createTimeoutMs: 50,
      create: () => new Promise<string>((resolve) => (finish = resolve)),
      destroy: (item) => void destroyed.push(item),
    })
    await assert.rejects(pool.acquire(), /no connection opened within 50 ms/)
    assert.equal(pool.total, 0, 'the slot is free again')
    finish('late')
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(destroyed, ['late'])
    await pool.close()
  })
})
