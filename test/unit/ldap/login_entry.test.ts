// The entry found at AUTH stands for a later login lookup only under the same search.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { knownLoginEntry, loginEntryKey, type KnownLoginEntry } from '../../../lib/ldap/login_entry'

const settings = {
  mode: 'search',
  servers: ['ldap://127.0.0.1:389'],
  bind_dn: 'cn=haraka,dc=example,dc=com',
  base_dn: 'ou=people,dc=example,dc=com',
  scope: 'sub',
  user_filter: '(mail=%u)',
}
const key = loginEntryKey(settings)
const known: KnownLoginEntry = {
  key,
  login: 'alice@example.com',
  entry: { dn: 'uid=alice,ou=people,dc=example,dc=com', attributes: { mail: ['alice@example.com'] } },
  read: ['uid', 'mail'],
}

describe('knownLoginEntry', () => {
  test('answers for the same search, login and attributes (any case)', () => {
    assert.equal(knownLoginEntry(known, key, 'search', 'alice@example.com', ['MAIL']), known.entry)
  })

  test('another login, a changed setting, template mode, an attribute not read, or none: undefined', () => {
    assert.equal(knownLoginEntry(known, key, 'search', 'Alice@example.com', ['mail']), undefined)
    assert.equal(knownLoginEntry(known, key, 'search', 'bob@example.com', ['mail']), undefined)
    for (const change of [
      { base_dn: 'ou=staff,dc=example,dc=com' },
      { user_filter: '(uid=%l)' },
      { servers: ['ldap://10.0.0.1:389'] },
      { bind_dn: 'cn=other' },
      { scope: 'one' },
    ])
      assert.equal(
        knownLoginEntry(known, loginEntryKey({ ...settings, ...change }), 'search', known.login, ['mail']),
        undefined,
        JSON.stringify(change),
      )
    assert.equal(knownLoginEntry(known, key, 'template', known.login, ['mail']), undefined)
    assert.equal(knownLoginEntry(known, key, 'search', known.login, ['mail', 'proxyAddresses']), undefined)
    assert.equal(knownLoginEntry(undefined, key, 'search', known.login, ['mail']), undefined)
  })
})

describe('loginEntryKey', () => {
  test('the same object gives the same key, and a changed one (a field, a server in place) a new key', () => {
    const cfg = { ...settings, servers: [...settings.servers] }
    assert.equal(loginEntryKey(cfg), key)
    assert.equal(loginEntryKey(cfg), key)
    cfg.base_dn = 'ou=staff,dc=example,dc=com'
    const staff = loginEntryKey(cfg)
    assert.notEqual(staff, key)
    cfg.servers[0] = 'ldap://10.0.0.1:389'
    assert.notEqual(loginEntryKey(cfg), staff)
    cfg.servers.pop()
    assert.equal(
      loginEntryKey(cfg),
      JSON.stringify(['search', [], settings.bind_dn, cfg.base_dn, 'sub', '(mail=%u)']),
    )
  })
})
