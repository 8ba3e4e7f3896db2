// lib/limiter/keys and lib/limiter/config: networks, fingerprints, keys, and the ini's cross-field rules.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseLimitsConfig } from '../../../lib/limiter/config'
import { attemptKeys, canonicalLogin, fingerprint, networkOf } from '../../../lib/limiter/keys'

const KEY = Buffer.from('a key of sixteen or more bytes')
const SHAPE = {
  ipv4_subnet: 24,
  ipv6_subnet: 48,
  ipv6_host: 64,
  familiar_ipv4_subnet: 24,
  familiar_ipv6_subnet: 64,
}

describe('networks', () => {
  test('IPv4, IPv6 and IPv4-mapped IPv6', () => {
    assert.equal(networkOf('192.0.2.77', 24, 48), '192.0.2.0/24')
    assert.equal(networkOf('192.0.2.77', 32, 64), '192.0.2.77/32')
    assert.equal(networkOf('::ffff:192.0.2.77', 24, 48), '192.0.2.0/24')
    assert.equal(networkOf('2001:db8:abcd:12:1:2:3:4', 24, 48), '2001:db8:abcd::/48')
    assert.equal(networkOf('2001:db8:abcd:f012::1', 24, 52), '2001:db8:abcd:f000::/52')
  })
})

describe('canonical login', () => {
  // OpenLDAP's caseIgnoreMatch (uid, mail) compares under compatibility decomposition: a search
  // for uid=\uff41lice (fullwidth a) finds uid=alice (checked against the test slapd). Were the
  // limiter's login key only case-folded, each fullwidth/ASCII mix of a login would be a login
  // of its own with its own budget, every guess a BIND on the one real entry (ppolicy lockout).
  test('the forms the directory matches as one are one key', () => {
    const alice = canonicalLogin('alice')
    for (const form of ['ALICE', '\uff41lice', '\uff41\uff4c\uff49\uff43\uff45', '\uff21LICE'])
      assert.equal(canonicalLogin(form), alice, JSON.stringify(form))
    const a = attemptKeys(SHAPE, KEY, '192.0.2.9', canonicalLogin('\uff41lice@example.com'), 'pw')
    const b = attemptKeys(SHAPE, KEY, '192.0.2.9', canonicalLogin('alice@example.com'), 'pw')
    assert.equal(a.failLogin, b.failLogin)
    assert.equal(a.fp, b.fp)
    assert.equal(a.source, b.source)
  })
})

describe('fingerprints', () => {
  test('16 bits of an HMAC: the same for the same login and password, never the password', () => {
    const a = fingerprint(KEY, 'alice', 'hunter2')
    assert.match(a, /^[0-9a-f]{4}$/)
    assert.equal(fingerprint(KEY, 'alice', 'hunter2'), a)
    assert.notEqual(fingerprint(KEY, 'alice', 'hunter3'), a)
    assert.notEqual(fingerprint(Buffer.from('another key of sixteen bytes'), 'alice', 'hunter2'), a)
    const different = new Set(Array.from({ length: 50 }, (_, i) => fingerprint(KEY, 'alice', `p${i}`)))
    assert.ok(different.size >= 48, 'distinct passwords have (almost always) distinct fingerprints')
  })

  test('no key or member holds the password or the address of a familiar source', () => {
    const k = attemptKeys(SHAPE, KEY, '192.0.2.9', 'alice@example.com', 'S3cret-pass')
    const all = JSON.stringify(k)
    assert.ok(!all.includes('S3cret'), all)
    assert.ok(k.failLogin.startsWith('limit:'))
    assert.ok(Object.values(k).filter((v) => v.startsWith('limit:')).length >= 13)
  })
})

describe('config/auth_limits.ini', () => {
  test('the defaults parse; an unset secret is a random key of this process, the same on a reload', () => {
    const a = parseLimitsConfig({ main: {} })
    const b = parseLimitsConfig({ main: {} })
    assert.ok(a.ok && b.ok)
    assert.equal(a.cfg.enabled, true)
    assert.equal(a.cfg.randomKey, true)
    assert.ok(a.cfg.key.equals(b.cfg.key))
  })

  test('cross-field rules and bad values are errors naming the key', () => {
    const bad = parseLimitsConfig({
      main: {
        delay: '5000',
        delay_max: '1000',
        ban: '600',
        ban_max: '60',
        secret: 'short',
        exempt_networks: '10.1/16',
        ipv6_subnet: '96',
      },
    })
    assert.ok(!bad.ok)
    const text = bad.errors.join('\n')
    for (const key of ['delay_max', 'ban_max', 'secret', 'exempt_networks', 'ipv6_subnet'])
      assert.match(text, new RegExp(key))
  })
})
