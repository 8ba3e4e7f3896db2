// The admin socket: one JSON line asked, one answered; 0600 in a 0700 folder;
// every process's socket asked; a socket nobody serves reported, not fatal.
import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import {
  ask,
  askAll,
  handleLine,
  serveAdmin,
  socketPath,
  sockets,
  type AdminHandler,
} from '../../../lib/admin/socket'

const roots: string[] = []
after(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true })
})
function root(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'adm-'))
  roots.push(d)
  return d
}

const handlers = new Map<string, AdminHandler>([
  ['echo', async (args) => ({ echoed: args })],
  [
    'boom',
    async () => {
      throw new Error('it broke')
    },
  ],
])

test('handleLine: a result, an unknown command, bad JSON, a handler that throws', async () => {
  assert.deepEqual(await handleLine('{"command":"echo","args":{"a":1}}', handlers), {
    ok: true,
    result: { echoed: { a: 1 } },
  })
  assert.deepEqual(await handleLine('{"command":"nope"}', handlers), {
    ok: false,
    error: 'unknown command "nope"',
  })
  assert.deepEqual(await handleLine('{', handlers), { ok: false, error: 'not a JSON request' })
  assert.deepEqual(await handleLine('{"command":"boom"}', handlers), { ok: false, error: 'it broke' })
  assert.deepEqual(await handleLine('{"command":"echo","args":[1]}', handlers), {
    ok: true,
    result: { echoed: {} },
  })
})

test('serve and ask: the folder 0700, the socket 0600, removed on close', async () => {
  const dir = path.join(root(), 'run')
  const server = await serveAdmin(dir, handlers, 4242)
  assert.equal(server.path, socketPath(dir, 4242))
  assert.equal(statSync(dir).mode & 0o777, 0o700)
  assert.equal(statSync(server.path).mode & 0o777, 0o600)
  assert.deepEqual(await ask(server.path, { command: 'echo', args: { x: 'y' } }), {
    ok: true,
    result: { echoed: { x: 'y' } },
  })
  assert.deepEqual(sockets(dir), [{ pid: 4242, socket: server.path }])
  await server.close()
  assert.deepEqual(sockets(dir), [])
})

test('a folder others may write to is refused', async () => {
  const dir = path.join(root(), 'open')
  mkdirSync(dir)
  chmodSync(dir, 0o777)
  await assert.rejects(async () => serveAdmin(dir, handlers), /writable by group or others/)
})

test('askAll asks every process; a stale socket is reported as unreachable', async () => {
  const dir = path.join(root(), 'run')
  const a = await serveAdmin(dir, handlers, 1001)
  const b = await serveAdmin(dir, handlers, 1002)
  // a socket file left behind by a process that is gone
  writeFileSync(socketPath(dir, 1003), '')
  const answers = (await askAll(dir, { command: 'echo' })).sort((x, y) => x.pid - y.pid)
  assert.equal(answers.length, 3)
  assert.deepEqual(answers[0], { pid: 1001, socket: a.path, response: { ok: true, result: { echoed: {} } } })
  assert.ok('response' in answers[1]!)
  assert.ok('unreachable' in answers[2]!, JSON.stringify(answers[2]))
  await Promise.all([a.close(), b.close()])
  assert.deepEqual(await askAll(path.join(dir, 'missing'), { command: 'echo' }), [])
})

test('a line that never ends is cut off at 64 KiB', async () => {
  const dir = path.join(root(), 'run')
  const server = await serveAdmin(dir, handlers, 77)
  const text = await new Promise<string>((resolve, reject) => {
    const s = net.connect(server.path)
    let got = ''
    s.setEncoding('utf8')
    s.on('connect', () => s.write('x'.repeat(70 * 1024)))
    s.on('data', (c: string) => (got += c))
    s.on('end', () => resolve(got))
    s.on('error', reject)
  })
  assert.deepEqual(JSON.parse(text), { ok: false, error: 'request too long' })
  await server.close()
})
