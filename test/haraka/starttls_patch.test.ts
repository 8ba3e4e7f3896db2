import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import path from 'node:path'
import { before, test } from 'node:test'
import { generateSelfSigned, type KeyPair } from '../../demo/tls'
import { patchStarttls, shapeProblem, type TlsSocketModule } from '../../haraka/starttls_patch'
import { REPO } from '../harness/paths'

const harakaRequire = createRequire(path.join(REPO, 'node_modules/Haraka/package.json'))
const HARAKA_VERSION = (harakaRequire('./package.json') as { version: string }).version

let pair: KeyPair
let renewed: KeyPair
before(async () => {
  pair = await generateSelfSigned('mail.example.com')
  renewed = await generateSelfSigned('mail.example.com')
})

/**
 * A tls_socket with the 3.3.x shape: createServer hands out sockets whose upgrade copies
 * certsByHost['*'] and builds a TLS socket from the copy (recorded instead of built).
 */
function fakeTlsSocket() {
  const built: Array<Record<string, unknown>> = []
  const certsByHost: Record<string, Record<string, unknown>> = {
    '*': { key: [Buffer.from(pair.key)], cert: [Buffer.from(pair.cert)] },
  }
  const tls = {
    TLSSocket: function (this: unknown, _socket: unknown, options: Record<string, unknown>) {
      built.push(options)
    } as unknown as new (socket: unknown, options: Record<string, unknown>) => unknown,
  }
  const cryptoSocket = {}
  function createServer(cb: (socket: { upgrade?: (cb2?: unknown) => void }) => void) {
    const socket: { upgrade?: (cb2?: unknown) => void } = {}
    socket.upgrade = (cb2) => {
      const options = { ...certsByHost['*'] }
      void cb2
      new tls.TLSSocket(cryptoSocket, options)
    }
    cb(socket)
    return socket
  }
  const mod = { createServer, Server: createServer, certsByHost } as TlsSocketModule & {
    createServer: typeof createServer
  }
  return { mod, built, certsByHost }
}

test("Haraka's own tls_socket has the shape the patch needs", () => {
  const tlsSocket = harakaRequire('./tls_socket') as TlsSocketModule
  assert.equal(shapeProblem(tlsSocket, HARAKA_VERSION), undefined)
})

test('upgrades get the shared context; certsByHost is left as it was after each upgrade', () => {
  const { mod, built, certsByHost } = fakeTlsSocket()
  const result = patchStarttls(mod, '3.3.4')
  assert.ok(result.patched && !result.already)
  const server = mod.createServer as (cb: (s: unknown) => void) => { upgrade: () => void }
  for (let i = 0; i < 3; i++) server(() => {}).upgrade()
  assert.equal(built.length, 3)
  const ctx = built[0]!.secureContext
  assert.ok(ctx && typeof ctx === 'object')
  for (const opts of built) assert.equal(opts.secureContext, ctx)
  assert.equal(Object.hasOwn(certsByHost['*']!, 'secureContext'), false)
  assert.equal(result.cache.builds, 1)
})

test('the onConnect callback still gets every socket', () => {
  const { mod } = fakeTlsSocket()
  patchStarttls(mod, '3.3.4')
  const seen: unknown[] = []
  const server = mod.createServer as (cb: (s: unknown) => void) => unknown
  const returned = server((s) => seen.push(s))
  assert.deepEqual(seen, [returned])
})

test('a secureContext already in certsByHost (set by someone else) is left alone', () => {
  const { mod, built, certsByHost } = fakeTlsSocket()
  const theirs = { theirs: true }
  certsByHost['*']!.secureContext = theirs
  patchStarttls(mod, '3.3.4')
  ;(mod.createServer as (cb: (s: unknown) => void) => { upgrade: () => void })(() => {}).upgrade()
  assert.equal(built[0]!.secureContext, theirs)
  assert.equal(certsByHost['*']!.secureContext, theirs)
})

test('a certificate reload in certsByHost gives the next upgrade a new context', () => {
  const { mod, built, certsByHost } = fakeTlsSocket()
  patchStarttls(mod, '3.3.4')
  const server = mod.createServer as (cb: (s: unknown) => void) => { upgrade: () => void }
  server(() => {}).upgrade()
  certsByHost['*']!.key = [Buffer.from(renewed.key)]
  certsByHost['*']!.cert = [Buffer.from(renewed.cert)]
  server(() => {}).upgrade()
  assert.notEqual(built[0]!.secureContext, built[1]!.secureContext)
})

test('patching twice wraps once and returns the first patch', () => {
  const { mod, built } = fakeTlsSocket()
  const first = patchStarttls(mod, '3.3.4')
  const wrapped = mod.createServer
  const second = patchStarttls(mod, '3.3.4')
  assert.ok(first.patched && second.patched && second.already)
  assert.equal(second.cache, first.cache)
  assert.equal(mod.createServer, wrapped)
  assert.equal(mod.Server, wrapped)
  ;(mod.createServer as (cb: (s: unknown) => void) => { upgrade: () => void })(() => {}).upgrade()
  assert.equal(built.length, 1)
})

test('refuses, and changes nothing, when the shape is not the one it knows', () => {
  const cases: Array<[string, (m: TlsSocketModule) => void, string, RegExp]> = [
    ['Haraka 4', () => {}, '4.0.0', /not 3\.x/],
    ['no version', () => {}, '', /not 3\.x/],
    ['no createServer', (m) => delete m.createServer, '3.3.4', /createServer is not a function/],
    ['Server differs', (m) => (m.Server = () => {}), '3.3.4', /Server is not/],
    ['no certsByHost', (m) => delete m.certsByHost, '3.3.4', /certsByHost is missing/],
    [
      'upgrade builds its own context',
      (m) => {
        const f = function createServer() {
          const options = { secureContext: 1 }
          return options
        }
        m.createServer = f
        m.Server = f
      },
      '3.3.4',
      /no longer contains/,
    ],
  ]
  for (const [label, change, version, why] of cases) {
    const { mod } = fakeTlsSocket()
    change(mod)
    const before = mod.createServer
    const result = patchStarttls(mod, version)
    assert.ok(!result.patched, label)
    assert.match(result.reason, why, label)
    assert.equal(mod.createServer, before, label)
  }
})
