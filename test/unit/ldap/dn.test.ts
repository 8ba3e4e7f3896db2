import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { dnEqual, parseDn } from '../../../lib/ldap/dn'
import { escapeDnValue } from '../../../lib/ldap/escape'

describe('RFC 4514 DNs', () => {
  test('parses RDNs, multi-valued RDNs and escapes', () => {
    assert.deepEqual(parseDn('uid=a\\,b,ou=People, dc=example'), [
      [{ type: 'uid', value: 'a,b' }],
      [{ type: 'ou', value: 'People' }],
      [{ type: 'dc', value: 'example' }],
    ])
    assert.deepEqual(parseDn('cn=x+UID=y,dc=z')[0], [
      { type: 'cn', value: 'x' },
      { type: 'uid', value: 'y' },
    ])
    assert.equal(parseDn('cn=Jos\\C3\\A9,dc=x')[0]![0]!.value, 'José')
    assert.equal(parseDn('cn=\\#hash\\ ,dc=x')[0]![0]!.value, '#hash ')
    assert.deepEqual(parseDn(''), [])
  })

  test('bad syntax throws', () => {
    for (const bad of ['uid', 'uid=a,', '=a', 'uid=a\\', 'u id=a', 'uid=a\\zz'])
      assert.throws(() => parseDn(bad), bad)
  })

  test('every escaped value round-trips through the parser', () => {
    for (const v of [
      "o'brien",
      'a,b',
      'x+y',
      '#hash',
      'semi;colon',
      'eq=ual',
      'star*',
      '(paren)',
      'back\\slash',
      'josé',
      '李',
      ' lead',
      'trail ',
      'q"uote<>',
    ]) {
      assert.equal(parseDn(`uid=${escapeDnValue(v)},dc=example`)[0]![0]!.value, v, v)
    }
  })

  test('comparison ignores case, spacing after separators and AVA order', () => {
    assert.ok(
      dnEqual('CN=Submitters, OU=Groups,DC=Example,DC=com', 'cn=submitters,ou=groups,dc=example,dc=com'),
    )
    assert.ok(dnEqual('cn=a+uid=b,dc=x', 'uid=b+cn=a,dc=x'))
    assert.ok(dnEqual('cn=J\\C3\\A9,dc=x', 'cn=jé,dc=x'))
    assert.ok(!dnEqual('cn=a,dc=x', 'cn=a,dc=y'))
    assert.ok(!dnEqual('cn=a\\,dc=x', 'cn=a,dc=x'))
    assert.ok(!dnEqual('not a dn', 'not a dn'), 'a DN that does not parse equals nothing, not even itself')
    assert.ok(!dnEqual('garbage', 'garbage'))
  })

  test('characters outside the BMP (emoji, rare CJK) are one character each, never two surrogate halves', () => {
    // U+1F600 and U+2000B are surrogate pairs in UTF-16; escaped as UTF-8 hex they are 4 bytes.
    assert.deepEqual(parseDn('cn=😀 smile,ou=𠀋,dc=x'), [
      [{ type: 'cn', value: '😀 smile' }],
      [{ type: 'ou', value: '𠀋' }],
      [{ type: 'dc', value: 'x' }],
    ])
    assert.equal(parseDn('cn=\\F0\\9F\\98\\80,dc=x')[0]![0]!.value, '😀')
    assert.equal(parseDn('cn=a\\,😀,dc=x')[0]![0]!.value, 'a,😀')
    for (const v of ['😀', '𠀋x', ' 😀 ', '#😀', 'a,𠀋+b']) {
      assert.equal(parseDn(`uid=${escapeDnValue(v)},dc=example`)[0]![0]!.value, v, v)
    }
    assert.ok(dnEqual('CN=😀,OU=𠀋,DC=x', 'cn=😀,ou=𠀋,dc=x'))
    assert.ok(dnEqual('cn=\\f0\\9f\\98\\80,dc=x', 'cn=😀,dc=x'))
    assert.ok(!dnEqual('cn=😀,dc=x', 'cn=😁,dc=x'))
  })
})
