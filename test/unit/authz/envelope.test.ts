// lib/authz/envelope: the MAIL FROM decisions, over a stand-in for the login's ownership.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { judgeLocalSender, judgeSender } from '../../../lib/authz/envelope'
import type { LoginOwnership } from '../../../lib/authz/ownership'
import type { Owned, Ownership } from '../../../lib/authz/senders'
import { REPLIES } from '../../../lib/replies'

function ownership(owned: Owned, owns: Record<string, Ownership> = {}): LoginOwnership & { asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    owned: async () => owned,
    owns: async (address) => (asked.push(address), owns[address] ?? { owned: false }),
  }
}
const ALICE: Owned = {
  kind: 'found',
  dn: 'uid=alice',
  addresses: new Set(['alice@example.com']),
  primary: undefined,
}
const enforce = { enforce: true, allowNullSender: false }

describe('judgeSender', () => {
  test('owned, sub-address and send-as pass, with their reasons', async () => {
    const o = ownership(ALICE, {
      'alice@example.com': { owned: true, via: 'listed' },
      'alice+x@example.com': { owned: true, via: 'subaddress' },
      'sales@example.com': { owned: true, via: 'send_as', group: 'cn=sales' },
    })
    const owned = await judgeSender('alice@example.com', o, enforce)
    assert.deepEqual(owned, { plugin: 'auth_relay', rule: 'sender', verdict: 'pass', reason: 'owned' })
    assert.equal((await judgeSender('alice+x@example.com', o, enforce)).reason, 'subaddress')
    const sendAs = await judgeSender('sales@example.com', o, enforce)
    assert.equal(sendAs.reason, 'send_as')
    assert.equal(sendAs.detail, 'sends as "sales@example.com": member of cn=sales')
  })
  test('not owned: 553 5.7.1 when enforced, recorded without a reply in observe mode', async () => {
    const o = ownership(ALICE, { 'john.smith@example.com': { owned: false, reason: 'another_entry' } })
    const refused = await judgeSender('bob@example.com', o, enforce)
    assert.equal(refused.verdict, 'fail')
    assert.equal(refused.reason, 'not_owned')
    assert.equal(refused.reply, REPLIES.SENDER_NOT_OWNED)
    assert.equal(refused.detail, '"bob@example.com" is not one of its addresses')
    const other = await judgeSender('john.smith@example.com', o, enforce)
    assert.match(other.detail ?? '', /\(another directory entry has it\)$/)
    const observed = await judgeSender('bob@example.com', o, { ...enforce, enforce: false })
    assert.equal(observed.verdict, 'fail')
    assert.equal(observed.reply, undefined)
  })
  test('no entry for the login: not_owned reply, reason no_entry, no address looked up', async () => {
    const o = ownership({ kind: 'no_entry' })
    const d = await judgeSender('alice@example.com', o, enforce)
    assert.equal(d.reason, 'no_entry')
    assert.equal(d.reply, REPLIES.SENDER_NOT_OWNED)
    assert.deepEqual(o.asked, [])
  })
  test('the null sender: refused (553) unless allow_null_sender, without any lookup', async () => {
    const o = ownership(ALICE)
    const refused = await judgeSender(null, o, enforce)
    assert.equal(refused.reason, 'null_sender')
    assert.equal(refused.reply, REPLIES.NULL_SENDER_REFUSED)
    const allowed = await judgeSender(null, o, { ...enforce, allowNullSender: true })
    assert.equal(allowed.verdict, 'pass')
    assert.equal(allowed.reason, 'null_sender_allowed')
    assert.deepEqual(o.asked, [])
  })
})

describe('judgeLocalSender', () => {
  const local = { mode: 'refuse', localDomains: new Set(['example.com', 'xn--bcher-kva.example']) }
  const client = { ip: '192.0.2.9', trusted: false, popGrant: async () => false }
  const from = (address: string) => ({ address, domain: address.slice(address.lastIndexOf('@') + 1) })

  test('refuse: a local domain without AUTH is 550 5.7.1, fail mail(local_sender_unauthenticated)', async () => {
    const d = await judgeLocalSender(from('alice@Example.COM'), client, local)
    assert.equal(d?.reason, 'local_sender_unauthenticated')
    assert.equal(d?.reply, REPLIES.INBOUND_LOCAL_SPOOF)
    assert.equal(d?.detail, '"alice@Example.COM" is in a local domain but 192.0.2.9 did not authenticate')
    assert.ok(await judgeLocalSender(from('u@B\u00fccher.example'), client, local))
  })
  test('observe records without a reply; accept, remote domains, <>, trusted networks and grants: nothing', async () => {
    const observed = await judgeLocalSender(from('alice@example.com'), client, { ...local, mode: 'observe' })
    assert.equal(observed?.verdict, 'fail')
    assert.equal(observed?.reply, undefined)
    assert.equal(
      await judgeLocalSender(from('alice@example.com'), client, { ...local, mode: 'accept' }),
      undefined,
    )
    assert.equal(await judgeLocalSender(from('x@remote.example'), client, local), undefined)
    assert.equal(await judgeLocalSender(null, client, local), undefined)
    assert.equal(
      await judgeLocalSender(from('alice@example.com'), { ...client, trusted: true }, local),
      undefined,
    )
    const granted = { ...client, popGrant: async () => true }
    assert.equal(await judgeLocalSender(from('alice@example.com'), granted, local), undefined)
  })
})
