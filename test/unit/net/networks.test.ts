// lib/net/networks: CIDR ranges in standard notation only, and the match.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { cidrOption, inNetworks, parseCidr } from '../../../lib/net/networks'

const shown = (text: string) => {
  const r = parseCidr(text)
  return r.ok ? `${r.cidr[0].toString()}/${r.cidr[1]}` : `error: ${r.why}`
}

describe('parseCidr', () => {
  test('four-part decimal IPv4 and IPv6, with a prefix in range', () => {
    assert.equal(shown('10.0.0.0/8'), '10.0.0.0/8')
    assert.equal(shown(' 192.168.10.0/24 '), '192.168.10.0/24')
    assert.equal(shown('0.0.0.0/0'), '0.0.0.0/0')
    assert.equal(shown('2001:DB8::/32'), '2001:db8::/32')
    assert.equal(shown('::1/128'), '::1/128')
  })

  test('octal, shortened and hex IPv4 notations are refused, not reinterpreted', () => {
    // ipaddr.parseCIDR read these as 8.0.0.0/8, 192.168.8.0/24, 10.0.0.1/16 and 10.0.0.1/32
    for (const text of [
      '010.0.0.0/8',
      '192.168.010.0/24',
      '10.1/16',
      '0xa.0.0.1/32',
      '167772161/32',
      '10.0.0/24',
    ]) {
      assert.equal(parseCidr(text).ok, false, text)
      assert.match(shown(text), /not a four-part decimal IPv4 or an IPv6 address/, text)
    }
  })

  test('IPv4-mapped IPv6 ranges are refused with the IPv4 range to write instead (clients are compared as IPv4)', () => {
    assert.match(shown('::ffff:10.0.0.0/104'), /IPv4-mapped; write it as 10\.0\.0\.0\/8/)
    assert.match(shown('::ffff:192.0.2.7/128'), /IPv4-mapped; write it as 192\.0\.2\.7\/32/)
    assert.match(shown('::ffff:0:0/96'), /IPv4-mapped; write it as 0\.0\.0\.0\/0/)
    assert.match(shown('::ffff:10.0.0.0/80'), /IPv4-mapped/)
  })

  test('bad prefixes, zones and junk', () => {
    for (const text of [
      '10.0.0.0/33',
      '2001:db8::/129',
      '10.0.0.0',
      '10.0.0.0/',
      '10.0.0.0/08',
      '10.0.0.0/-1',
      'fe80::1%eth0/64',
      'nonsense',
      '10.0.0.0/8/8',
      '',
    ]) {
      assert.equal(parseCidr(text).ok, false, text)
    }
  })
})

describe('cidrOption', () => {
  test('every bad item is named with the key; nothing is kept when one is bad', () => {
    const errors: string[] = []
    assert.deepEqual(
      cidrOption('[main] trusted_networks', ['10.0.0.0/8', '010.0.0.0/8', '::ffff:10.0.0.0/104'], errors),
      [],
    )
    assert.equal(errors.length, 2)
    assert.match(
      errors[0]!,
      /^\[main\] trusted_networks: "010\.0\.0\.0\/8" is not a CIDR range such as 192\.0\.2\.0\/24 \(not a four-part decimal IPv4/,
    )
    assert.match(
      errors[1]!,
      /^\[main\] trusted_networks: "::ffff:10\.0\.0\.0\/104" is not a CIDR range such as 192\.0\.2\.0\/24 \(IPv4-mapped; write it as 10\.0\.0\.0\/8\)/,
    )
    const ok: string[] = []
    assert.equal(cidrOption('k', ['10.0.0.0/8', '2001:db8::/32'], ok).length, 2)
    assert.deepEqual(ok, [])
  })
})

describe('inNetworks', () => {
  const errors: string[] = []
  const nets = cidrOption('k', ['10.0.0.0/8', '2001:db8::/32'], errors)
  test('IPv4 clients, written either way, match IPv4 ranges', () => {
    assert.equal(inNetworks('10.1.2.3', nets), true)
    assert.equal(inNetworks('::ffff:10.1.2.3', nets), true)
    assert.equal(inNetworks('8.0.0.1', nets), false)
    assert.equal(inNetworks('2001:db8::5', nets), true)
  })
})

describe('trusted networks', () => {
  const errors: string[] = []
  const nets = cidrOption('trusted_networks', ['192.0.2.0/24', '2001:db8::/32'], errors)
  test('the ranges parse', () => assert.deepEqual(errors, []))
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
