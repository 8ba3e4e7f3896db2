import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { escapeFilterValue } from '../../../lib/ldap/escape'
import { compileTemplate, hasSlot, loginParts, renderTemplate } from '../../../lib/ldap/template'

describe('templates', () => {
  test('compiles text and slots', () => {
    assert.deepEqual(compileTemplate('(uid=%u)'), [
      { kind: 'text', text: '(uid=' },
      { kind: 'slot', name: 'u' },
      { kind: 'text', text: ')' },
    ])
  })

  test('%% is a literal percent', () => {
    assert.deepEqual(compileTemplate('a%%b'), [{ kind: 'text', text: 'a%b' }])
    assert.equal(hasSlot(compileTemplate('a%%b')), false)
  })

  test('unknown or dangling placeholders are load errors', () => {
    assert.throws(() => compileTemplate('(uid=%x)'), /unknown placeholder %x/)
    assert.throws(() => compileTemplate('(uid=%'), /unknown placeholder/)
  })

  test('renders every slot through the escaper', () => {
    const t = compileTemplate('(&(uid=%l)(dc=%d)(mail=%u))')
    const out = renderTemplate(t, loginParts('a*b@Example.COM'), escapeFilterValue)
    assert.equal(out, '(&(uid=a\\2ab)(dc=example.com)(mail=a\\2ab@Example.COM))')
  })

  test('loginParts splits at the last @ and lower-cases the domain', () => {
    assert.deepEqual(loginParts('a@b@Example.org'), { u: 'a@b@Example.org', l: 'a@b', d: 'example.org' })
    assert.deepEqual(loginParts('bob'), { u: 'bob', l: 'bob', d: '' })
  })
})
