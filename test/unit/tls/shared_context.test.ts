import assert from 'node:assert/strict'
import { constants } from 'node:crypto'
import { test } from 'node:test'
import tls from 'node:tls'
import { createContextCache, sharedContextOptions, type CreateContext } from '../../../lib/tls/shared_context'

/** A create() that records the options it was given and returns a distinct token each time. */
function recorder() {
  const calls: tls.SecureContextOptions[] = []
  const create: CreateContext = (opts) => {
    calls.push(opts)
    return { id: calls.length } as unknown as tls.SecureContext
  }
  return { calls, create }
}

function options() {
  return {
    key: [Buffer.from('key-1')],
    cert: [Buffer.from('cert-1')],
    dhparam: Buffer.from('dh'),
    sessionIdContext: 'haraka',
    requestCert: true,
    SNICallback: () => {},
  } as Record<string, unknown>
}

test('the same options object, unchanged: one context for every call', () => {
  const { calls, create } = recorder()
  const cache = createContextCache(create)
  const opts = options()
  const first = cache.contextFor(opts)
  for (let i = 0; i < 100; i++) assert.equal(cache.contextFor(opts), first)
  assert.equal(calls.length, 1)
  assert.equal(cache.builds, 1)
})

test('an equal copy of the options (same values) reuses the context', () => {
  const { calls, create } = recorder()
  const cache = createContextCache(create)
  const opts = options()
  const first = cache.contextFor(opts)
  assert.equal(cache.contextFor({ ...opts }), first)
  assert.equal(calls.length, 1)
})

test('a reloaded certificate (a new array, a new Buffer) builds a new context, and the old one is not served again', () => {
  const { calls, create } = recorder()
  const cache = createContextCache(create)
  const opts = options()
  const old = cache.contextFor(opts)
  opts.cert = [Buffer.from('cert-2')]
  const renewed = cache.contextFor(opts)
  assert.notEqual(renewed, old)
  assert.deepEqual(calls[1]?.cert, [Buffer.from('cert-2')])
  assert.equal(cache.contextFor(opts), renewed)
  assert.equal(cache.builds, 2)
})

test('an array changed in place, a value changed, a key added or removed: each builds anew', () => {
  const { calls, create } = recorder()
  const cache = createContextCache(create)
  const opts = options()
  cache.contextFor(opts)
  ;(opts.key as Buffer[])[0] = Buffer.from('key-2')
  cache.contextFor(opts)
  opts.dhparam = Buffer.from('dh-2')
  cache.contextFor(opts)
  opts.ciphers = 'HIGH'
  cache.contextFor(opts)
  delete opts.ciphers
  cache.contextFor(opts)
  ;(opts.key as Buffer[]).push(Buffer.from('key-3'))
  cache.contextFor(opts)
  assert.equal(calls.length, 6)
})

test('the shared context never issues session tickets (no resumption, as per-connection contexts)', () => {
  const { calls, create } = recorder()
  createContextCache(create).contextFor(options())
  assert.equal(calls[0]!.secureOptions, constants.SSL_OP_NO_TICKET)
  const withOwn = sharedContextOptions({ secureOptions: constants.SSL_OP_NO_SSLv3 })
  assert.equal(withOwn?.secureOptions, constants.SSL_OP_NO_SSLv3 | constants.SSL_OP_NO_TICKET)
})

test('secureOptions that is not a number: no shared context (Node builds its own per connection)', () => {
  const { calls, create } = recorder()
  const cache = createContextCache(create)
  assert.equal(cache.contextFor({ ...options(), secureOptions: '0x4000' }), undefined)
  assert.equal(calls.length, 0)
})

test('a context that cannot be built: undefined, reported once, not retried per connection', () => {
  const errors: string[] = []
  let tries = 0
  const cache = createContextCache(
    () => {
      tries++
      throw new Error('bad key')
    },
    (_n, err) => errors.push(err?.message ?? 'built'),
  )
  const opts = options()
  assert.equal(cache.contextFor(opts), undefined)
  assert.equal(cache.contextFor(opts), undefined)
  assert.equal(tries, 1)
  assert.deepEqual(errors, ['bad key'])
  assert.equal(cache.builds, 0)
})

test('onBuild counts the contexts built', () => {
  const seen: number[] = []
  const cache = createContextCache(recorder().create, (n) => seen.push(n))
  const opts = options()
  cache.contextFor(opts)
  cache.contextFor(opts)
  opts.cert = [Buffer.from('cert-2')]
  cache.contextFor(opts)
  assert.deepEqual(seen, [1, 2])
})

test('with Node: a real context from real options', () => {
  const cache = createContextCache()
  const ctx = cache.contextFor({ sessionIdContext: 'haraka', minVersion: 'TLSv1.2' })
  assert.ok(ctx && typeof ctx === 'object' && 'context' in ctx)
})
