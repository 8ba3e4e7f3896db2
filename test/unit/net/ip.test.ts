// lib/net/ip: one text form per IP, and the IP of an address literal.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { addressLiteralIp, normaliseIp } from '../../../lib/net/ip'

describe('IP helpers', () => {
  test('address literals: IPv4 dotted quad, IPv6 with the tag, nothing else', () => {
    assert.equal(addressLiteralIp('[192.0.2.1]'), '192.0.2.1')
    assert.equal(addressLiteralIp('[IPv6:::ffff:192.0.2.1]'), '192.0.2.1')
    assert.equal(addressLiteralIp('[ipv6:2001:DB8::1]'), '2001:db8::1')
    assert.equal(addressLiteralIp('[0x7f.1]'), null)
    assert.equal(addressLiteralIp('[2001:db8::1]'), null)
    assert.equal(addressLiteralIp('[IPv6:192.0.2.1]'), null)
    assert.equal(addressLiteralIp('192.0.2.1'), null)
  })
  test('normaliseIp folds IPv4-mapped IPv6 and refuses junk', () => {
    assert.equal(normaliseIp('::ffff:127.0.0.1'), '127.0.0.1')
    assert.equal(normaliseIp('2001:0db8::0001'), '2001:db8::1')
    assert.equal(normaliseIp('nope'), null)
    assert.equal(normaliseIp('0x7f.1'), null)
    assert.equal(normaliseIp('127.1'), null)
  })
})
