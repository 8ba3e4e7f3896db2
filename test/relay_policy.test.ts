import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { inNetworks, parseCidrs } from '../lib/relay/networks'
import { decideRcpt } from '../lib/relay/policy'
import { normaliseAddress, ownsAddress } from '../lib/relay/senders'

const local = new Set(['example.com'])
const base = { localDomains: local, authenticated: false, trustedNetwork: false }

describe('decideRcpt', () => {
  test('local domain: accepted without AUTH, case-insensitively', () => {
    assert.deepEqual(decideRcpt({ ...base, domain: 'Example.COM' }), { accept: true, rule: 'local_domain' })
  })
  test('remote domain: refused unless authenticated or trusted', () => {
    assert.deepEqual(decideRcpt({ ...base, domain: 'remote.example' }), { accept: false, rule: 'relay_denied' })
    assert.deepEqual(decideRcpt({ ...base, domain: 'remote.example', authenticated: true }), { accept: true, rule: 'authenticated' })
    assert.deepEqual(decideRcpt({ ...base, domain: 'remote.example', trustedNetwork: true }), { accept: true, rule: 'trusted_network' })
  })
  test('a trailing dot or a subdomain is not our domain', () => {
    assert.equal(decideRcpt({ ...base, domain: 'example.com.' }).accept, false)
    assert.equal(decideRcpt({ ...base, domain: 'evil.example.com' }).accept, false)
  })
})

describe('trusted networks', () => {
  const nets = parseCidrs(['192.0.2.0/24', '2001:db8::/32'])
  test('matches inside the ranges, IPv4-mapped IPv6 included', () => {
    assert.equal(inNetworks('192.0.2.7', nets), true)
    assert.equal(inNetworks('::ffff:192.0.2.7', nets), true)
    assert.equal(inNetworks('2001:db8::1', nets), true)
  })
  test('loopback is not trusted unless listed; junk never matches', () => {
    assert.equal(inNetworks('127.0.0.1', nets), false)
    assert.equal(inNetworks('::1', nets), false)
    assert.equal(inNetworks('not-an-ip', nets), false)
    assert.equal(inNetworks('127.0.0.1', []), false)
  })
})

describe('sender ownership', () => {
  const owned = new Set(['alice@example.com', 'a.liddell@example.com'].map(normaliseAddress))
  test('owned addresses match case-insensitively', () => {
    assert.equal(ownsAddress(owned, 'alice@example.com'), true)
    assert.equal(ownsAddress(owned, 'Alice@EXAMPLE.com'), true)
    assert.equal(ownsAddress(owned, 'a.liddell@example.com'), true)
  })
  test('anything else does not', () => {
    assert.equal(ownsAddress(owned, 'bob@example.com'), false)
    assert.equal(ownsAddress(owned, 'alice@example.com.evil'), false)
    assert.equal(ownsAddress(owned, 'alice+x@example.com'), false)
  })
})
