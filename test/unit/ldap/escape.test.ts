import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FilterParser } from 'ldapts'
import { escapeDnValue, escapeFilterValue } from '../../../lib/ldap/escape'

describe('escapeFilterValue (RFC 4515)', () => {
  test('escapes the five filter metacharacters', () => {
    assert.equal(escapeFilterValue('*'), '\\2a')
    assert.equal(escapeFilterValue('('), '\\28')
    assert.equal(escapeFilterValue(')'), '\\29')
    assert.equal(escapeFilterValue('\\'), '\\5c')
    assert.equal(escapeFilterValue('\0'), '\\00')
  })

  test('leaves ordinary logins alone', () => {
    assert.equal(escapeFilterValue('alice@example.com'), 'alice@example.com')
    assert.equal(escapeFilterValue("o'brien+x,y=z#;"), "o'brien+x,y=z#;")
  })

  test('keeps non-ASCII literal, so ldapts encodes it once as UTF-8 (escaped octets would be mangled)', () => {
    assert.equal(escapeFilterValue('josé李'), 'josé李')
    assert.equal(escapeFilterValue('a\x01\x7f'), 'a\\01\\7f')
    const filter = FilterParser.parseString(`(uid=${escapeFilterValue('josé*')})`) as unknown as {
      value: string
    }
    assert.equal(filter.value, 'josé*')
    // The trap: ldapts reads \c3\a9 as two Latin-1 characters.
    assert.notEqual(
      (FilterParser.parseString('(uid=jos\\c3\\a9)') as unknown as { value: string }).value,
      'josé',
    )
  })

  test('an injection attempt stays one equality assertion on the literal value', () => {
    const attack = 'alice)(|(uid=*'
    const filter = FilterParser.parseString(`(uid=${escapeFilterValue(attack)})`)
    assert.equal(filter.constructor.name, 'EqualityFilter')
    assert.equal((filter as unknown as { value: string }).value, attack)
  })

  test('a lone * becomes a literal, not a presence filter', () => {
    const filter = FilterParser.parseString(`(uid=${escapeFilterValue('*')})`)
    assert.equal(filter.constructor.name, 'EqualityFilter')
  })
})

describe('escapeDnValue (RFC 4514)', () => {
  test('escapes the DN specials', () => {
    assert.equal(escapeDnValue('a,b'), 'a\\,b')
    assert.equal(escapeDnValue('a+b'), 'a\\+b')
    assert.equal(escapeDnValue('a=b'), 'a\\=b')
    assert.equal(escapeDnValue('a"b;c<d>e\\f'), 'a\\"b\\;c\\<d\\>e\\\\f')
  })

  test('escapes a leading # or space and a trailing space', () => {
    assert.equal(escapeDnValue('#x'), '\\#x')
    assert.equal(escapeDnValue(' x '), '\\ x\\ ')
    assert.equal(escapeDnValue('a#b c'), 'a#b c')
  })

  test('escapes control characters and keeps UTF-8', () => {
    assert.equal(escapeDnValue('a\0b\nc'), 'a\\00b\\0ac')
    assert.equal(escapeDnValue('zoë'), 'zoë')
  })

  test('an attempt to add an RDN stays inside the value', () => {
    const dn = `uid=${escapeDnValue('alice,ou=admins')},ou=people,dc=example,dc=com`
    assert.equal(dn, 'uid=alice\\,ou\\=admins,ou=people,dc=example,dc=com')
  })
})
