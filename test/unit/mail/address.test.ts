// The one address comparison rule (lib/mail/address.ts), on raw strings.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { canonicalAddress, splitAddress, unquoteLocal, withoutSubaddress } from '../../../lib/mail/address'

describe('canonicalAddress', () => {
  test('domain and local part are case-insensitive', () => {
    assert.equal(canonicalAddress('Bob@Example.COM'), 'bob@example.com')
    assert.equal(canonicalAddress('BOB@example.com'), canonicalAddress('bob@example.com'))
  })
  test('unnecessary quotes are dropped: "bob"@ is bob@', () => {
    assert.equal(canonicalAddress('"bob"@example.com'), 'bob@example.com')
    assert.equal(canonicalAddress('"b\\ob"@example.com'), 'bob@example.com')
    assert.equal(canonicalAddress('"Bob.Smith"@example.com'), 'bob.smith@example.com')
  })
  test('quotes that matter stay, so the address never equals a plain one', () => {
    assert.equal(canonicalAddress('"bob@example.com"@evil.example'), '"bob@example.com"@evil.example')
    assert.notEqual(canonicalAddress('"bob@example.com"@example.com'), 'bob@example.com')
    assert.equal(canonicalAddress('"bob smith"@example.com'), '"bob smith"@example.com')
    assert.equal(canonicalAddress('"bob."@example.com'), '"bob."@example.com')
  })
  test('%, ! and + are part of the local part: no rerouting, no stripping', () => {
    assert.equal(canonicalAddress('bob%example.com@example.com'), 'bob%example.com@example.com')
    assert.notEqual(canonicalAddress('bob%example.com@example.com'), 'bob@example.com')
    assert.notEqual(canonicalAddress('example.com!bob@example.com'), 'bob@example.com')
    assert.notEqual(canonicalAddress('bob+tag@example.com'), 'bob@example.com')
  })
  test('a trailing dot keeps the domain different; IDN domains compare as A-labels; NFC', () => {
    assert.notEqual(canonicalAddress('bob@example.com.'), 'bob@example.com')
    assert.equal(canonicalAddress('bob@BÜCHER.example'), 'bob@xn--bcher-kva.example')
    assert.equal(canonicalAddress('jose\u0301@example.com'), canonicalAddress('jos\u00e9@example.com'))
  })
  test('not an address', () => {
    assert.equal(canonicalAddress('bob'), null)
    assert.equal(canonicalAddress('@example.com'), null)
    assert.equal(canonicalAddress('bob@'), null)
  })
})

describe('helpers', () => {
  test('splitAddress splits at the last @', () => {
    assert.deepEqual(splitAddress('"a@b"@c.example'), { local: '"a@b"', domain: 'c.example' })
  })
  test('unquoteLocal resolves quoted pairs and refuses what is not one quoted string', () => {
    assert.equal(unquoteLocal('"a\\"b"'), 'a"b')
    assert.equal(unquoteLocal('plain'), null)
    assert.equal(unquoteLocal('"a"b"'), null)
    assert.equal(unquoteLocal('"a\\"'), null)
  })
  test('withoutSubaddress: off without a separator; cuts at the first separator; never a leading one', () => {
    assert.equal(withoutSubaddress('alice+tag@example.com', ''), null)
    assert.equal(withoutSubaddress('alice+tag+more@example.com', '+'), 'alice@example.com')
    assert.equal(withoutSubaddress('+tag@example.com', '+'), null)
    assert.equal(withoutSubaddress('alice@example.com', '+'), null)
    assert.equal(withoutSubaddress('alice-tag@example.com', '-'), 'alice@example.com')
  })
})
