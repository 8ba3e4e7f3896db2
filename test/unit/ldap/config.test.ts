import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { DIRECTORY_SPEC, parseDirectoryConfig } from '../../../lib/ldap/config'
import { escapeDnValue } from '../../../lib/ldap/escape'
import { loginParts, renderTemplate } from '../../../lib/ldap/template'

const searchMode = {
  servers: 'ldap://127.0.0.1:3389',
  bind_dn: 'cn=haraka,ou=services,dc=example,dc=com',
  bind_password: 'secret',
  base_dn: 'ou=people,dc=example,dc=com',
}

function errorsOf(raw: Record<string, any>): string[] {
  const r = parseDirectoryConfig(raw)
  return r.ok ? [] : r.errors
}

describe('ldap_directory.ini', () => {
  test('a minimal search-mode config takes the defaults', () => {
    const r = parseDirectoryConfig({ main: searchMode })
    assert.ok(r.ok)
    assert.deepEqual(r.cfg.servers, ['ldap://127.0.0.1:3389'])
    assert.equal(r.cfg.mode, 'search')
    assert.equal(r.cfg.timeout, DIRECTORY_SPEC.timeout.default)
    assert.equal(r.cfg.tls_reject_unauthorized, true)
    assert.ok(Object.isFrozen(r.cfg))
  })

  test('several servers, comma separated', () => {
    const r = parseDirectoryConfig({ main: { ...searchMode, servers: 'ldap://a:389, ldaps://b' } })
    assert.ok(r.ok)
    assert.deepEqual(r.cfg.servers, ['ldap://a:389', 'ldaps://b'])
  })

  test('bad values are clear errors', () => {
    assert.match(
      errorsOf({ main: { ...searchMode, servers: 'http://x' } }).join(),
      /servers: "http:\/\/x" is not an ldap:\/\/ or ldaps:\/\/ URL/,
    )
    assert.match(
      errorsOf({ main: { ...searchMode, timeout: 'soon' } }).join(),
      /timeout: "soon" is not a whole number from 100 to 60000/,
    )
    assert.match(
      errorsOf({ main: { ...searchMode, mode: 'magic' } }).join(),
      /mode: "magic" is not one of search, template/,
    )
    assert.match(
      errorsOf({ main: { ...searchMode, tls_reject_unauthorized: 'maybe' } }).join(),
      /not true or false/,
    )
  })

  test('typos are errors, not silent defaults', () => {
    assert.match(errorsOf({ main: { ...searchMode, bindpw: 'x' } }).join(), /\[main\] bindpw: unknown option/)
    assert.match(errorsOf({ main: searchMode, extra: {} }).join(), /\[extra\]: unknown section/)
  })

  test('search mode needs base_dn and a service account', () => {
    const errors = errorsOf({ main: { servers: 'ldap://a' } }).join()
    assert.match(errors, /base_dn: required when mode=search/)
    assert.match(errors, /bind_dn: required when mode=search/)
    assert.match(
      errorsOf({ main: { ...searchMode, bind_password: '' } }).join(),
      /bind_password: required with bind_dn/,
    )
  })

  test('filter templates are checked at load', () => {
    assert.match(
      errorsOf({ main: { ...searchMode, user_filter: '(uid=%x)' } }).join(),
      /unknown placeholder %x/,
    )
    assert.match(errorsOf({ main: { ...searchMode, user_filter: '(uid=alice)' } }).join(), /must contain %u/)
    assert.match(
      errorsOf({ main: { ...searchMode, user_filter: '(&(uid=%u)' } }).join(),
      /not a valid LDAP filter/,
    )
  })

  test('template mode needs a DN template around the login', () => {
    assert.match(
      errorsOf({ main: { servers: 'ldap://a', mode: 'template' } }).join(),
      /dn_template: required when mode=template/,
    )
    assert.match(
      errorsOf({ main: { servers: 'ldap://a', mode: 'template', dn_template: '%u' } }).join(),
      /must be a DN around the login/,
    )
    const r = parseDirectoryConfig({
      main: { servers: 'ldap://a', mode: 'template', dn_template: 'uid=%u,ou=people,dc=example,dc=com' },
    })
    assert.ok(r.ok)
  })

  test('several DN templates as dn_template[] lines, each checked, tried in order', () => {
    const t = ['uid=%l,ou=people,dc=example,dc=com', 'uid=%l,ou=staff,dc=example,dc=com']
    const r = parseDirectoryConfig({ main: { servers: 'ldap://a', mode: 'template', dn_template: t } })
    assert.ok(r.ok)
    assert.equal(r.cfg.dnTemplates.length, 2)
    assert.deepEqual(
      r.cfg.dnTemplates.map((tokens) => renderTemplate(tokens, loginParts('bob@example.com'), escapeDnValue)),
      ['uid=bob,ou=people,dc=example,dc=com', 'uid=bob,ou=staff,dc=example,dc=com'],
    )
    const bad = errorsOf({
      main: {
        servers: 'ldap://a',
        mode: 'template',
        dn_template: [t[0], 'ou=staff,dc=example,dc=com', 'uid=%l,,dc=x', '%u=x,dc=y'],
      },
    }).join('; ')
    assert.match(bad, /dn_template\[2\]: must contain %u, %l or %d/)
    assert.match(bad, /dn_template\[3\]: must be a DN around the login/)
    assert.match(bad, /dn_template\[4\]: must be a DN around the login/)
    assert.doesNotMatch(bad, /dn_template\[1\]/)
  })

  test('health_check_interval has a floor', () => {
    assert.match(
      errorsOf({ main: { ...searchMode, health_check_interval: 10 } }).join(),
      /health_check_interval: 10 is not a whole number from 500/,
    )
  })

  test('starttls with ldaps:// is contradictory', () => {
    assert.match(
      errorsOf({ main: { ...searchMode, servers: 'ldaps://a', starttls: true } }).join(),
      /starttls/,
    )
  })

  test('an unreadable CA file is an error', () => {
    assert.match(
      errorsOf({ main: { ...searchMode, tls_ca_file: '/nonexistent/ca.pem' } }).join(),
      /tls_ca_file: cannot read/,
    )
  })
})
