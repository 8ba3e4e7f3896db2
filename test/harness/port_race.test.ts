// The throwaway servers when their free port is taken between the probe and their
// bind: another process's server answering on that port must not pass for ours.
// A dummy on the port answers every LDAP bind with success, and every Redis command
// with +PONG, as a foreign slapd or redis-server with the same accounts would.
import assert from 'node:assert/strict'
import net from 'node:net'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { freePort } from './ports'
import { startRedis } from './redis'
import { startSlapd } from './slapd'
import { REPO } from './paths'

/** BER length octets. */
function berLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

/** The messageID of one LDAPMessage at the start of `data`, and its protocolOp tag, once complete enough. */
function ldapRequest(data: Buffer): { id: Buffer; op: number; size: number } | undefined {
  if (data.length < 2 || data[0] !== 0x30) return undefined
  let at = 1
  let len = data[at++]!
  if (len & 0x80) {
    const n = len & 0x7f
    if (data.length < at + n) return undefined
    len = 0
    for (let i = 0; i < n; i++) len = (len << 8) | data[at++]!
  }
  const size = at + len
  if (data.length < size || data[at] !== 0x02) return undefined
  const idLen = data[at + 1]!
  const id = data.subarray(at + 2, at + 2 + idLen)
  return { id, op: data[at + 2 + idLen]!, size }
}

/** A listener on `port` that answers every LDAP BindRequest with success (any DN, any password). */
function fakeLdap(port: number): Promise<net.Server> {
  const server = net.createServer((socket) => {
    let data = Buffer.alloc(0)
    socket.on('error', () => undefined)
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk])
      for (let req = ldapRequest(data); req; req = ldapRequest(data)) {
        data = data.subarray(req.size)
        if (req.op !== 0x60) continue // only binds are answered (an unbind needs no answer)
        const bindResponse = Buffer.from([0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00])
        const body = Buffer.concat([Buffer.from([0x02, req.id.length]), req.id, bindResponse])
        socket.write(Buffer.concat([Buffer.from([0x30]), berLength(body.length), body]))
      }
    })
  })
  return listen(server, port)
}

/** A listener on `port` that answers every line with +PONG. */
function fakeRedis(port: number): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined)
    socket.on('data', () => socket.write('+PONG\r\n'))
  })
  return listen(server, port)
}

function listen(server: net.Server, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

/** freePort, except that the first `times` calls return `port`. */
function takenFirst(port: number, times = 1): () => Promise<number> {
  let calls = 0
  return () => (calls++ < times ? Promise.resolve(port) : freePort())
}

const servers: net.Server[] = []
after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))))

describe('a free port taken by another server before ours binds it', () => {
  test('slapd: the dummy that accepts the ready bind is not taken for ours; it starts on another port', async () => {
    const port = await freePort()
    servers.push(await fakeLdap(port))
    const slapd = await startSlapd({
      ldif: [path.join(REPO, 'demo/directory.ldif')],
      freePort: takenFirst(port),
    })
    try {
      assert.notEqual(slapd.port, port)
      assert.ok(slapd.pid > 0, 'our slapd runs')
    } finally {
      await slapd.dispose()
    }
  })
  test('slapd: a port that stays taken ends in a clear error, not in the dummy', async () => {
    const port = await freePort()
    servers.push(await fakeLdap(port))
    await assert.rejects(
      startSlapd({ ldif: [path.join(REPO, 'demo/directory.ldif')], freePort: takenFirst(port, Infinity) }),
      new RegExp(`no port of its own after 3 attempts \\(last ${port}: in use by another process\\)`),
    )
  })
  test('redis-server: the dummy that answers PONG is not taken for ours; it starts on another port', async () => {
    const port = await freePort()
    servers.push(await fakeRedis(port))
    const redis = await startRedis({ freePort: takenFirst(port) })
    try {
      assert.notEqual(redis.port, port)
      assert.equal(await redis.command('SET', 'k', 'v'), '+OK\r\n')
    } finally {
      await redis.dispose()
    }
  })
  test('redis-server: a port that stays taken ends in a clear error', async () => {
    const port = await freePort()
    servers.push(await fakeRedis(port))
    await assert.rejects(
      startRedis({ freePort: takenFirst(port, Infinity) }),
      new RegExp(`no port of its own after 3 attempts \\(last ${port}: in use by another process\\)`),
    )
  })
})
