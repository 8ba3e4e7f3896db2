// lib/authz/session: the sender answers kept for one session.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ownedFromEntry, type Owned } from '../../../lib/authz/senders'
import { cachedAnswer, cachedOwned, senderCacheFor, type SenderCache } from '../../../lib/authz/session'

const DN = 'uid=alice,ou=people,dc=example,dc=com'

describe('per-session cache', () => {
  test('the entry is read once per key; a new key (another login, a reload) reads again', async () => {
    let held: SenderCache | undefined
    const cacheFor = (key: string) => (held = senderCacheFor(held, key))
    let loads = 0
    const load = async (): Promise<Owned> => {
      loads++
      return ownedFromEntry(DN, { mail: ['alice@example.com'] }, ['mail'])
    }
    await cachedOwned(cacheFor('alice'), load)
    await cachedOwned(cacheFor('alice'), load)
    assert.equal(loads, 1)
    await cachedOwned(cacheFor('alice+other-config'), load)
    assert.equal(loads, 2)
  })
  test('failures are not cached; group answers are', async () => {
    const cache = senderCacheFor(undefined, 'k')
    await assert.rejects(
      cachedOwned(cache, async () => Promise.reject(new Error('down'))),
      /down/,
    )
    const o = await cachedOwned(cache, async () => ({ kind: 'no_entry' }))
    assert.deepEqual(o, { kind: 'no_entry' })
    let checks = 0
    const check = async () => (checks++, true)
    assert.equal(await cachedAnswer(cache.groups, 'cn=g', check), true)
    assert.equal(await cachedAnswer(cache.groups, 'cn=g', check), true)
    assert.equal(checks, 1)
    await assert.rejects(cachedAnswer(cache.groups, 'cn=h', async () => Promise.reject(new Error('down'))))
    assert.equal(await cachedAnswer(cache.groups, 'cn=h', async () => false), false)
    let claims = 0
    const claim = async () => (claims++, true)
    assert.equal(await cachedAnswer(cache.claims, 'john.smith@example.com', claim), true)
    assert.equal(await cachedAnswer(cache.claims, 'john.smith@example.com', claim), true)
    assert.equal(claims, 1)
    await assert.rejects(
      cachedAnswer(cache.claims, 'x@example.com', async () => Promise.reject(new Error('down'))),
    )
    assert.equal(await cachedAnswer(cache.claims, 'x@example.com', async () => false), false)
  })
  test('a session keeps at most 1000 claim answers: the oldest are dropped, the newest kept', async () => {
    const cache = senderCacheFor(undefined, 'k')
    for (let i = 0; i < 5000; i++)
      await cachedAnswer(cache.claims, `alice+${i}@example.com`, async () => false)
    assert.equal(cache.claims.size, 1000)
    let checks = 0
    const check = async () => (checks++, false)
    await cachedAnswer(cache.claims, 'alice+4999@example.com', check)
    assert.equal(checks, 0)
    await cachedAnswer(cache.claims, 'alice+0@example.com', check)
    assert.equal(checks, 1)
    assert.equal(cache.claims.size, 1000)
  })
})
