// The throwaway Redis of test/harness/redis.ts: serves commands on loopback,
// keeps nothing on disk, and stops (and restarts) by PID.
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { isListening } from '../../demo/ports'
import { redisCommand, startRedis, type RedisServer } from './redis'

let redis: RedisServer
before(async () => {
  redis = await startRedis()
})
after(async () => {
  await redis?.dispose()
})

describe('redis harness', () => {
  test('answers on 127.0.0.1 at a free port; SET/GET round-trip', async () => {
    assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/)
    assert.ok(redis.pid > 0)
    assert.equal(await redis.command('SET', 'k', 'v 1'), '+OK\r\n')
    assert.equal(await redis.command('GET', 'k'), '$3\r\nv 1\r\n')
    assert.equal(await redis.command('GET', 'missing'), '$-1\r\n')
  })

  test('also answers on its unix socket, in its own dir', async () => {
    assert.equal(path.dirname(redis.socketPath), redis.dir)
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.createConnection(redis.socketPath, () => s.write('PING\r\n'))
      s.once('data', (d) => {
        resolve(d.toString())
        s.destroy()
      })
      s.once('error', reject)
    })
    assert.equal(reply, '+PONG\r\n')
  })

  test('no persistence: nothing written to its dir', async () => {
    assert.deepEqual(
      readdirSync(redis.dir).filter((f) => f !== 'redis.log' && f !== 'redis.sock'),
      [],
    )
  })

  test('stop() ends the process (port closed), start() brings it back empty on the same port', async () => {
    const { port } = redis
    await redis.stop()
    assert.equal(redis.pid, 0)
    assert.equal(await isListening(port), false)
    await assert.rejects(redisCommand(port, ['PING'], 300))
    await redis.start()
    assert.equal(redis.port, port)
    assert.equal(await redis.command('GET', 'k'), '$-1\r\n')
  })

  test('SIGSTOP makes it hang; SIGCONT brings it back', async () => {
    redis.signal('SIGSTOP')
    try {
      await assert.rejects(redisCommand(redis.port, ['PING'], 300), /no reply within 300 ms/)
    } finally {
      redis.signal('SIGCONT')
    }
    assert.equal(await redis.command('PING'), '+PONG\r\n')
  })
})
