// RFC 4514/4515 escaping on the real slapd: users whose uids hold DN and filter
// metacharacters or non-ASCII log in with their own name and password, in
// search and in template mode, and no other name logs in as them.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { authenticate } from '../../lib/authn/password'
import { parseDirectoryConfig } from '../../lib/ldap/config'
import { createDirectory, type LdapDirectory as Directory } from '../../lib/ldap/directory'
import { startSlapd, type Slapd } from '../harness/slapd'
import { DEMO_LDIF, FIXTURE_DIR } from '../harness/stack'

const USERS: [string, string][] = [
  ["o'brien", 'pw-obrien'],
  ['a,b', 'pw-comma'],
  ['x+y', 'pw-plus'],
  ['#hash', 'pw-hash'],
  ['semi;colon', 'pw-semi'],
  ['eq=ual', 'pw-equal'],
  ['star*', 'pw-star'],
  ['(paren)', 'pw-paren'],
  ['back\\slash', 'pw-backslash'],
  ['josé', 'pw-jose'],
  ['李', 'pw-li'],
]
// Names that a broken escaper could turn into one of the users above.
const IMPOSTORS = [
  '*',
  'a',
  'b',
  'star',
  'star\\2a',
  'st*',
  'x',
  'y',
  'hash',
  '\\#hash',
  'semi',
  'eq',
  '(paren',
  'paren',
  'back',
  'back\\5cslash',
  'jose',
  "o'brien)(uid=*",
  'a\\,b',
  'uid=a\\,b,ou=people,dc=example,dc=com',
]

let slapd: Slapd
const dirs: Directory[] = []

function open(main: Record<string, unknown>): Directory {
  const r = parseDirectoryConfig({
    main: { servers: slapd.url, timeout: 3000, connect_timeout: 1000, ...main },
  })
  if (!r.ok) throw new Error(r.errors.join('; '))
  const d = createDirectory(r.cfg)
  dirs.push(d)
  return d
}

before(async () => {
  slapd = await startSlapd({ ldif: [DEMO_LDIF, path.join(FIXTURE_DIR, 'escaping-users.ldif')] })
})
after(async () => {
  for (const d of dirs) await d.close()
  await slapd?.dispose()
})

const MODES = {
  search: () =>
    open({
      bind_dn: 'cn=haraka,ou=services,dc=example,dc=com',
      bind_password: 'haraka-service-secret',
      base_dn: 'ou=people,dc=example,dc=com',
      user_filter: '(&(objectClass=inetOrgPerson)(uid=%u))',
    }),
  template: () => open({ mode: 'template', dn_template: 'uid=%u,ou=people,dc=example,dc=com' }),
}

for (const [mode, make] of Object.entries(MODES) as ['search' | 'template', () => Directory][]) {
  describe(`escaping in ${mode} mode`, () => {
    test('each user logs in with their real name and password', async () => {
      const d = make()
      for (const [uid, password] of USERS) {
        const r = await authenticate(d, mode, uid, password)
        assert.equal(r.outcome, 'OK', `${uid}: ${r.reason}`)
        assert.ok(r.dn?.includes(',ou=people,dc=example,dc=com'), r.dn)
        // ...and the DN it bound to is that user's own entry.
        assert.equal((await authenticate(d, mode, uid, 'not-the-password')).outcome, 'PASSWORD_MISMATCH', uid)
      }
    })

    test("no other name logs in with a user's password", async () => {
      const d = make()
      for (const [uid, password] of USERS) {
        for (const other of [...USERS.map(([u]) => u).filter((u) => u !== uid), ...IMPOSTORS]) {
          const r = await authenticate(d, mode, other, password)
          assert.notEqual(
            r.outcome,
            'OK',
            `${JSON.stringify(other)} logged in with the password of ${JSON.stringify(uid)}`,
          )
        }
      }
    })
  })
}
