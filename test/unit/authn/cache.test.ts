import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { inspect } from 'node:util'
import { CredentialCache } from '../../../lib/authn/cache'

function cache(overrides: Partial<ConstructorParameters<typeof CredentialCache>[0]> = {}) {
  let now = 1_000_000
  const c = new CredentialCache({
    ttlMs: 60_000,
    negativeTtlMs: 10_000,
    staleMs: 0,
    maxEntries: 100,
    now: () => now,
    ...overrides,
  })
  return { c, advance: (ms: number) => (now += ms) }
}

describe('credential cache', () => {
  test('a positive entry matches only its password and expires after the ttl', () => {
    const { c, advance } = cache()
    c.storePositive('alice', 'right')
    assert.deepEqual(c.lookup('alice', 'right'), { kind: 'hit' })
    assert.deepEqual(c.lookup('alice', 'wrong'), { kind: 'miss' })
    assert.deepEqual(c.lookup('bob', 'right'), { kind: 'miss' })
    advance(60_001)
    assert.deepEqual(c.lookup('alice', 'right'), { kind: 'miss' })
  })

  test('a negative entry refuses that pair for its ttl only', () => {
    const { c, advance } = cache()
    c.storeNegative('alice', 'guess', 'authn/invalid_credentials')
    assert.deepEqual(c.lookup('alice', 'guess'), { kind: 'negative', reason: 'authn/invalid_credentials' })
    assert.deepEqual(c.lookup('alice', 'other'), { kind: 'miss' })
    advance(10_001)
    assert.deepEqual(c.lookup('alice', 'guess'), { kind: 'miss' })
  })

  test('a refusal of the cached password drops the positive entry; success clears a negative one', () => {
    const { c } = cache({ staleMs: 3_600_000 })
    c.storePositive('alice', 'old')
    c.storeNegative('alice', 'old', 'authn/invalid_credentials')
    assert.equal(c.lookupStale('alice', 'old'), false)
    c.storeNegative('alice', 'new', 'authn/invalid_credentials')
    const negatives = c.size.negative
    c.storePositive('alice', 'new')
    assert.deepEqual(c.lookup('alice', 'new'), { kind: 'hit' })
    assert.equal(c.size.negative, negatives - 1, 'the negative entry for the now-accepted password is gone')
  })

  test('success clears the negative entry even where positive hits are off (ttl 0, stale use on)', () => {
    // lookup() checks the positive map first; with cache_ttl=0 it cannot hit, so only
    // a cleared negative entry makes the pair a miss instead of a refusal.
    const { c } = cache({ ttlMs: 0, staleMs: 3_600_000 })
    c.storeNegative('alice', 'new', 'authn/invalid_credentials')
    assert.deepEqual(c.lookup('alice', 'new'), { kind: 'negative', reason: 'authn/invalid_credentials' })
    c.storePositive('alice', 'new')
    assert.deepEqual(c.lookup('alice', 'new'), { kind: 'miss' })
    assert.equal(c.size.negative, 0)
  })

  test('stale use while the directory is down is bounded by staleMs, and off when 0', () => {
    const { c, advance } = cache({ ttlMs: 1000, staleMs: 5000 })
    c.storePositive('alice', 'pw')
    advance(3000)
    assert.deepEqual(c.lookup('alice', 'pw'), { kind: 'miss' })
    assert.equal(c.lookupStale('alice', 'pw'), true)
    assert.equal(c.lookupStale('alice', 'nope'), false)
    advance(3000)
    assert.equal(c.lookupStale('alice', 'pw'), false)
    const off = cache({ staleMs: 0 }).c
    off.storePositive('alice', 'pw')
    assert.equal(off.lookupStale('alice', 'pw'), false)
  })

  test('bounded: the oldest entries go first', () => {
    const { c } = cache({ maxEntries: 2 })
    c.storePositive('a', '1')
    c.storePositive('b', '2')
    c.storePositive('c', '3')
    assert.equal(c.size.positive, 2)
    assert.deepEqual(c.lookup('a', '1'), { kind: 'miss' })
    assert.deepEqual(c.lookup('c', '3'), { kind: 'hit' })
  })

  test('never holds the password', () => {
    const { c } = cache()
    c.storePositive('alice', 'very-secret-password')
    c.storeNegative('alice', 'other-secret-guess', 'authn/invalid_credentials')
    const dump = inspect(c, { depth: 10, showHidden: true })
    assert.ok(!dump.includes('very-secret-password') && !dump.includes('other-secret-guess'))
    assert.ok(!dump.includes(Buffer.from('very-secret-password').toString('hex')))
  })

  test('disabled when every ttl is 0', () => {
    const { c } = cache({ ttlMs: 0, negativeTtlMs: 0 })
    assert.equal(c.enabled, false)
    c.storePositive('a', 'b')
    assert.deepEqual(c.lookup('a', 'b'), { kind: 'miss' })
  })

  test('retired (its configuration was replaced): empty, and stores and finds nothing more', () => {
    const { c } = cache({ staleMs: 3_600_000 })
    c.storePositive('alice', 'right')
    c.storeNegative('bob', 'guess', 'authn/invalid_credentials')
    c.retire()
    assert.deepEqual(c.size, { positive: 0, negative: 0 })
    assert.equal(c.enabled, false)
    // What an AUTH still running on the replaced directory does when its verdict comes:
    c.storePositive('carol', 'late')
    c.storeNegative('dave', 'late', 'authn/invalid_credentials')
    assert.deepEqual(c.size, { positive: 0, negative: 0 })
    assert.deepEqual(c.lookup('carol', 'late'), { kind: 'miss' })
    assert.deepEqual(c.lookup('dave', 'late'), { kind: 'miss' })
    assert.equal(c.lookupStale('carol', 'late'), false)
    assert.equal(c.lookupStale('alice', 'right'), false)
  })
})

test('the operator flushes one login (any case) or everything, and is told how many entries went', () => {
  const { c, advance } = cache({ negativeTtlMs: 60_000 })
  c.storePositive('alice@example.com', 'right')
  c.storeNegative('alice@example.com', 'wrong1', 'authn/bad_credentials')
  c.storeNegative('Alice@example.com', 'wrong2', 'authn/bad_credentials')
  c.storePositive('bob@example.com', 'b')
  advance(5000)
  assert.deepEqual(c.describe('ALICE@example.com'), { positive_age_ms: 5000, negative: 2 })
  assert.deepEqual(c.flush('alice@EXAMPLE.com'), { positive: 1, negative: 2 })
  assert.equal(c.lookup('alice@example.com', 'right').kind, 'miss')
  assert.equal(c.lookup('bob@example.com', 'b').kind, 'hit')
  assert.deepEqual(c.describe('alice@example.com'), { positive_age_ms: null, negative: 0 })
  assert.deepEqual(c.flush(), { positive: 1, negative: 0 })
  assert.equal(c.lookup('bob@example.com', 'b').kind, 'miss')
})
