// lib/ldap/addresses: the addresses in directory attribute values, and an
// entry's primary address (auth_stamp's identity, auth_relay's added Sender).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { addressesOfValue, pickPrimary } from '../../../lib/ldap/addresses'

describe('addressesOfValue', () => {
  test('proxyAddresses: smtp:/SMTP: values without the prefix, other types ignored', () => {
    assert.deepEqual(addressesOfValue('proxyAddresses', 'SMTP:Alice@Example.com'), {
      address: 'Alice@Example.com',
      primary: true,
    })
    assert.deepEqual(addressesOfValue('proxyaddresses', 'smtp:al@example.com'), {
      address: 'al@example.com',
      primary: false,
    })
    assert.equal(addressesOfValue('proxyAddresses', 'X500:/o=Example/cn=alice'), null)
    assert.equal(addressesOfValue('proxyAddresses', 'sip:alice@example.com'), null)
    assert.equal(addressesOfValue('proxyAddresses', 'alice@example.com'), null)
  })
  test('other attributes hold plain addresses, prefix or not', () => {
    assert.deepEqual(addressesOfValue('mail', ' alice@example.com '), {
      address: 'alice@example.com',
      primary: false,
    })
    assert.deepEqual(addressesOfValue('mail', 'smtp:x@example.com'), {
      address: 'smtp:x@example.com',
      primary: false,
    })
  })
})

describe('pickPrimary', () => {
  test('the first value, as the directory returned them', () => {
    assert.equal(
      pickPrimary({ mail: ['alice@example.com', 'a.liddell@example.com'] }, ['mail']),
      'alice@example.com',
    )
  })
  test('proxyAddresses: the SMTP: value, whatever its position; smtp: and X500: are not primary', () => {
    assert.equal(
      pickPrimary({ proxyaddresses: ['smtp:b@example.com', 'SMTP:A@example.com'] }, ['proxyAddresses']),
      'A@example.com',
    )
    assert.equal(
      pickPrimary({ proxyaddresses: ['smtp:b@example.com', 'X500:/o=x'] }, ['proxyaddresses']),
      undefined,
    )
  })
  test('a value that is not an address is not used', () => {
    assert.equal(pickPrimary({ mail: ['not an address'] }, ['mail']), undefined)
    assert.equal(pickPrimary({ mail: ['a@b\r\nBcc: c@d'] }, ['mail']), undefined)
    assert.equal(pickPrimary({ mail: [] }, ['mail']), undefined)
    assert.equal(pickPrimary({}, ['mail']), undefined)
  })
  test('several attributes: the SMTP: value wins wherever it is listed, else the first value in attribute order', () => {
    const values = {
      mail: ['Alice@Example.com'],
      mailalternateaddress: ['a.l@example.com'],
      proxyaddresses: ['smtp:old@example.com', 'SMTP:Primary@example.com', 'X500:x'],
    }
    assert.equal(
      pickPrimary(values, ['mail', 'mailAlternateAddress', 'proxyAddresses']),
      'Primary@example.com',
    )
    assert.equal(pickPrimary(values, ['mailAlternateAddress', 'mail']), 'a.l@example.com')
    assert.equal(
      pickPrimary({ ...values, proxyaddresses: ['smtp:old@example.com'] }, ['proxyAddresses', 'mail']),
      'Alice@Example.com',
    )
  })
  test('a value unfit for a header is passed over, not taken and not the end of the search', () => {
    assert.equal(
      pickPrimary({ mail: ['a@b\r\nBcc: c@d', 'alice@example.com'] }, ['mail']),
      'alice@example.com',
    )
    assert.equal(
      pickPrimary({ mail: ['not an address', 'alice@example.com'] }, ['mail']),
      'alice@example.com',
    )
  })
})
