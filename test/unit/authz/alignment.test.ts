// lib/authz/alignment: the header_alignment decision for one message, over a
// stand-in for the login's ownership that counts what it is asked.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { judgeHeaders, type HeaderPolicy } from '../../../lib/authz/alignment'
import { CheckStopped, type LoginOwnership } from '../../../lib/authz/ownership'
import type { Owned, Ownership } from '../../../lib/authz/senders'
import { HEADER_REPLIES } from '../../../lib/replies'

const ALICE: Owned = {
  kind: 'found',
  dn: 'uid=alice',
  addresses: new Set(['alice@example.com']),
  primary: 'alice@example.com',
}
function ownership(owned: Owned = ALICE): LoginOwnership & { asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    owned: async () => (asked.push('entry'), owned),
    async owns(a): Promise<Ownership> {
      asked.push(a)
      return owned.kind === 'found' && owned.addresses.has(a.toLowerCase())
        ? { owned: true, via: 'listed' }
        : { owned: false }
    },
  }
}
const refuse: HeaderPolicy = {
  enforce: true,
  addSender: false,
  bounds: { maxBytes: 8192, maxAddresses: 100 },
}
const go = () => undefined

describe('judgeHeaders', () => {
  test('aligned: pass header(aligned), no reply', async () => {
    const d = await judgeHeaders(['From: Alice <alice@example.com>\n'], ownership(), refuse, go)
    assert.deepEqual(d, { plugin: 'auth_relay', rule: 'header', verdict: 'pass', reason: 'aligned' })
  })
  test('a foreign From: fail header(from_not_owned) with its reply and a log-safe detail; stops at that address', async () => {
    const o = ownership()
    const d = await judgeHeaders(['From: bob@example.com, alice@example.com\n'], o, refuse, go)
    assert.equal(d.verdict, 'fail')
    assert.equal(d.reason, 'from_not_owned')
    assert.equal(d.reply, HEADER_REPLIES.from_not_owned)
    assert.equal(d.detail, 'from not owned: "From: bob@example.com"')
    assert.deepEqual(o.asked, ['entry', 'bob@example.com'])
  })
  test('enforce_sender=false: the same failure, without a reply', async () => {
    const d = await judgeHeaders(['From: bob@example.com\n'], ownership(), { ...refuse, enforce: false }, go)
    assert.equal(d.reason, 'from_not_owned')
    assert.equal(d.reply, undefined)
    assert.equal(d.addSender, undefined)
  })
  test("add_sender: the failure is repaired with the login's primary address, not refused; without one, refused", async () => {
    const addSender = { ...refuse, addSender: true }
    const d = await judgeHeaders(['From: bob@example.com\n'], ownership(), addSender, go)
    assert.equal(d.reason, 'from_not_owned')
    assert.equal(d.reply, undefined)
    assert.equal(d.addSender, 'alice@example.com')
    const none = await judgeHeaders(
      ['From: bob@example.com\n'],
      ownership({ ...ALICE, primary: undefined }),
      addSender,
      go,
    )
    assert.equal(none.reply, HEADER_REPLIES.from_not_owned)
    assert.equal(none.addSender, undefined)
  })
  test('bounds and malformed names are refused before any lookup, also with add_sender', async () => {
    const o = ownership()
    const big = await judgeHeaders(
      [`From: ${'a '.repeat(5000)}<alice@example.com>\n`],
      o,
      { ...refuse, addSender: true },
      go,
    )
    assert.equal(big.reason, 'too_large')
    assert.equal(big.reply, HEADER_REPLIES.too_large)
    assert.match(
      big.detail ?? '',
      /^too large: From\/Sender fields are \d+ bytes \(1 field\(s\)\), over the limit of 8192$/,
    )
    const bad = await judgeHeaders(
      ['From: alice@example.com\n', 'From\x00: bob@example.com\n'],
      o,
      refuse,
      go,
    )
    assert.equal(bad.reason, 'malformed_field_name')
    assert.equal(bad.detail, 'malformed field name: "field name From<U+0000>"')
    const many = await judgeHeaders(
      ['From: a@example.com, b@example.com\n'],
      o,
      { ...refuse, bounds: { maxBytes: 8192, maxAddresses: 1 } },
      go,
    )
    assert.equal(many.reason, 'too_many_addresses')
    assert.deepEqual(o.asked, [])
  })
  test('once `stop` gives a reason, no verdict: CheckStopped', async () => {
    await assert.rejects(
      judgeHeaders(['From: alice@example.com\n'], ownership(), refuse, () => 'the hook has answered'),
      (err: unknown) => err instanceof CheckStopped && err.message === 'the hook has answered',
    )
  })
})
