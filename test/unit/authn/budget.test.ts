import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { budgetWarnings, directoryWorstCaseMs } from '../../../lib/authn/budget'
import { parseAuthConfig, type AuthConfig } from '../../../lib/authn/config'
import { parseDirectoryConfig, type DirectoryConfig } from '../../../lib/ldap/config'

function auth(main: Record<string, unknown> = {}): AuthConfig {
  const r = parseAuthConfig({ main })
  assert.ok(r.ok, r.ok ? '' : r.errors.join())
  return r.cfg
}
function dir(main: Record<string, unknown> = {}): DirectoryConfig {
  const r = parseDirectoryConfig({ main: { bind_dn: 'cn=x', bind_password: 'x', base_dn: 'dc=x', ...main } })
  assert.ok(r.ok, r.ok ? '' : r.errors.join())
  return r.cfg
}

describe('the AUTH deadline', () => {
  test('the directory worst case: connections per server, each operation once, the group check', () => {
    // search: service connection + bind + search, then a bind connection + the user bind
    assert.equal(directoryWorstCaseMs(dir(), auth()), 3000 + 5000 + 5000 + 3000 + 5000)
    assert.equal(
      directoryWorstCaseMs(dir({ servers: 'ldap://a,ldap://b', starttls: true }), auth()),
      12000 + 10000 + 12000 + 5000,
    )
    assert.equal(directoryWorstCaseMs(dir(), auth({ require_group: 'cn=g,dc=x' })), 26000)
    const t = dir({
      mode: 'template',
      dn_template: ['uid=%l,ou=a,dc=x', 'uid=%l,ou=b,dc=x'],
      bind_dn: '',
      bind_password: '',
      base_dn: '',
    })
    assert.equal(directoryWorstCaseMs(t, auth()), 2 * (3000 + 5000) + 5000)
  })

  test('warnings: timeouts that do not fit, and checks read with the user own rights', () => {
    assert.deepEqual(budgetWarnings(auth(), dir(), 30), [], 'the defaults fit')
    const w = budgetWarnings(
      auth({ auth_timeout: 40000 }),
      dir({ servers: 'ldap://a,ldap://b,ldap://c' }),
      30,
    ).join('\n')
    assert.match(
      w,
      /auth_timeout=40000 ms does not fit Haraka's plugin timeout for ldap_auth \(30 s, .*\) less 2000 ms: AUTH answers 454 after 28000 ms/,
    )
    assert.match(w, /let one AUTH wait up to 33000 ms: beyond 28000 ms it is answered 454 4\.7\.0/)
    assert.match(
      budgetWarnings(auth({ failure_delay_max: 8000 }), dir(), 2).join('\n'),
      /failure_delay_max=8000 ms is not below the AUTH deadline of 1500 ms/,
    )
    const template = dir({
      mode: 'template',
      dn_template: 'uid=%l,dc=x',
      bind_dn: '',
      bind_password: '',
      base_dn: '',
    })
    assert.match(
      budgetWarnings(auth({ check_ppolicy_lock: true }), template, 30).join('\n'),
      /mode=template without bind_dn: pwdAccountLockedTime is read with the user's own rights/,
    )
    assert.deepEqual(
      budgetWarnings(
        auth({ check_ppolicy_lock: true }),
        dir({ mode: 'template', dn_template: 'uid=%l,dc=x' }),
        30,
      ),
      [],
    )
  })
})
