// config/shared_state.ini's schema, and Redis's address read from config/redis.ini as
// haraka-plugin-redis reads it (its own normalize_redis_ini is the reference).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  describeRedis,
  parseRedisIni,
  parseSharedStateConfig,
  sharedStateWarnings,
  type RedisConnection,
} from '../../../lib/state/config'

// eslint-disable-next-line @typescript-eslint/no-require-imports
const plugin = require('haraka-plugin-redis') as {
  normalize_redis_ini(raw: object): { server: { socket: Record<string, unknown>; [k: string]: unknown } }
}

function cfg(main: Record<string, string>) {
  const p = parseSharedStateConfig({ main })
  if (!p.ok) throw new Error(p.errors.join('; '))
  return p.cfg
}

describe('shared_state.ini', () => {
  test('defaults: memory, 250 ms, fail open', () => {
    const c = cfg({})
    assert.equal(c.store, 'memory')
    assert.equal(c.timeout_ms, 250)
    assert.equal(c.on_failure, 'open')
    assert.equal(c.prefix, 'haraka-ldap:')
  })

  test('an unknown store, key or a timeout out of range is an error naming it', () => {
    const p = parseSharedStateConfig({ main: { store: 'etcd', stor: 'redis', timeout_ms: '0' } })
    assert.equal(p.ok, false)
    const errors = p.ok ? '' : p.errors.join('\n')
    assert.match(errors, /timeout_ms: "0" is not a whole number from 10 to 10000/)
    assert.match(errors, /store: "etcd" is not one of memory, redis/)
    assert.match(errors, /stor: unknown option/)
  })

  test('memory with several worker processes is worth a warning; redis fail closed too', () => {
    assert.match(sharedStateWarnings(cfg({}), 4).join(), /each worker process counts and bans on its own/)
    assert.match(sharedStateWarnings(cfg({}), 'cpus').join(), /each worker/)
    assert.deepEqual(sharedStateWarnings(cfg({}), 0), [])
    assert.deepEqual(sharedStateWarnings(cfg({ store: 'redis' }), 4), [])
    assert.match(sharedStateWarnings(cfg({ store: 'redis', on_failure: 'closed' }), 0).join(), /454/)
  })
})

describe('redis.ini, read as haraka-plugin-redis reads it', () => {
  const cases: Array<Record<string, Record<string, string>>> = [
    {},
    { server: { host: 'redis.example', port: '6380' } },
    { server: { ip: '10.0.0.5' } },
    { server: { host: '10.0.0.6' }, opts: { database: '3', password: 's3cret' } },
    { server: { host: 'a', database: '2' }, opts: { database: '5' } },
    { server: { path: '/run/redis.sock' } },
    { opts: { username: 'haraka', password: 'p' } },
  ]
  for (const raw of cases) {
    test(`same host, port, path, database and credentials: ${JSON.stringify(raw)}`, () => {
      const ours = parseRedisIni(raw)
      assert.ok(ours.ok)
      const theirs = plugin.normalize_redis_ini(raw).server
      const pick = (c: RedisConnection) => ({
        host: c.host,
        port: c.port,
        path: c.path,
        database: c.database,
        username: c.username,
        password: c.password,
      })
      assert.deepEqual(pick(ours.cfg), {
        host: theirs.socket.host,
        port: Number(theirs.socket.port),
        path: theirs.socket.path,
        database: theirs.database === undefined ? undefined : Number(theirs.database),
        username: theirs.username,
        password: theirs.password,
      })
    })
  }

  test('a bad port is an error; the password never appears in the description', () => {
    assert.equal(parseRedisIni({ server: { port: 'sixty' } }).ok, false)
    const p = parseRedisIni({
      server: { host: 'r', port: '7000', database: '2' },
      opts: { password: 'pw-x' },
    })
    assert.ok(p.ok)
    assert.equal(describeRedis(p.cfg), 'redis://r:7000/2')
  })
})
