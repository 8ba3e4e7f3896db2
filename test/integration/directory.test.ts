// lib/ldap/directory against a real slapd: the LDAP behaviour we rely on.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import path from 'node:path'
import { authenticate } from '../../lib/authn/password'
import { parseAuthConfig } from '../../lib/authn/config'
import { CredentialCache } from '../../lib/authn/cache'
import { verifyCredentials } from '../../lib/authn/verify'
import type { DirectoryConfig } from '../../lib/ldap/config'
import { createDirectory, type LdapDirectory } from '../../lib/ldap/directory'
import { DirectoryUnavailableError } from '../../lib/ldap/errors'
import { findLoginEntry } from '../../lib/ldap/login_entry'
import { loginParts } from '../../lib/ldap/template'
import { TestDirectories, testDirectoryConfig } from '../harness/directories'
import { startSlapd, type Slapd } from '../harness/slapd'
import { ALICE, DEMO_LDIF, FIXTURE_DIR } from '../harness/stack'

let slapd: Slapd

const dirs = new TestDirectories()
const configFor = (overrides: Record<string, unknown> = {}): DirectoryConfig =>
  testDirectoryConfig(slapd.url, overrides)
const open = (overrides: Record<string, unknown> = {}): LdapDirectory => dirs.open(slapd.url, overrides)

/** Connections slapd accepted so far (its stats log has one ACCEPT line each). */
function accepted(): number {
  return (slapd.logTail(1_000_000).match(/ ACCEPT from /g) ?? []).length
}

/** Connection ids slapd has accepted and not yet closed. */
function openConnections(): Set<string> {
  // Connection ids restart with slapd, so read only since its last start.
  const log = slapd.logTail(1_000_000)
  const open = new Set<string>()
  for (const m of log
    .slice(log.lastIndexOf('slapd starting'))
    .matchAll(/conn=(\d+) fd=\d+ (ACCEPT|closed)/g)) {
    if (m[2] === 'ACCEPT') open.add(m[1]!)
    else open.delete(m[1]!)
  }
  return open
}

before(async () => {
  slapd = await startSlapd({ ldif: [DEMO_LDIF, path.join(FIXTURE_DIR, 'proxy-logins.ldif')] })
})
after(async () => {
  await dirs.closeAll()
  await slapd?.dispose()
})

describe('search mode', () => {
  test('finds exactly one entry by uid or by mail, with its addresses', async () => {
    const d = open()
    for (const login of ['alice', 'alice@example.com', 'a.liddell@example.com']) {
      const r = await d.findUser(loginParts(login), ['mail'])
      assert.equal(r.kind, 'found', login)
      assert.equal(r.kind === 'found' && r.entry.dn, 'uid=alice,ou=people,dc=example,dc=com')
      assert.deepEqual(r.kind === 'found' && r.entry.attributes.mail?.sort(), [
        'a.liddell@example.com',
        'alice@example.com',
      ])
    }
  })

  test('a filter matching several entries is ambiguous, never the first one', async () => {
    const d = open({ user_filter: '(|(uid=%u)(objectClass=inetOrgPerson))' })
    assert.deepEqual(await d.findUser(loginParts('alice'), ['1.1']), { kind: 'ambiguous', server: slapd.url })
    const r = await authenticate(d, 'search', 'alice', ALICE.password)
    assert.equal(r.outcome, 'AMBIGUOUS')
  })

  test('metacharacters in the login are literal on the real server', async () => {
    const d = open()
    for (const login of ['*', 'al*', '*)(uid=*', 'alice)(|(objectClass=*', '\\2a']) {
      assert.deepEqual(
        await d.findUser(loginParts(login), ['1.1']),
        { kind: 'none', server: slapd.url },
        login,
      )
    }
  })

  test('password check: right, wrong, and the empty password never binds', async () => {
    const d = open()
    const dn = 'uid=alice,ou=people,dc=example,dc=com'
    assert.equal(await d.checkPassword(dn, ALICE.password), true)
    assert.equal(await d.checkPassword(dn, 'wrong'), false)
    assert.equal(await d.checkPassword(dn, ''), false)
    // the server that answered: the audit line's `server`
    assert.deepEqual(await d.bindAndRead(dn, 'wrong', []), { ok: false, server: slapd.url })
    assert.deepEqual(await d.bindAndRead(dn, ALICE.password, []), {
      ok: true,
      entry: null,
      server: slapd.url,
    })
    assert.equal((await authenticate(d, 'search', 'alice', 'wrong')).server, slapd.url)
    const r = await authenticate(d, 'search', 'alice', '')
    assert.equal(r.outcome, 'EMPTY_PASSWORD')
  })
})

describe('group membership', () => {
  const submitters = 'cn=submitters,ou=groups,dc=example,dc=com'
  test('member of a groupOfNames, compared as DNs by the server', async () => {
    const d = open()
    assert.equal(await d.isMember(submitters, 'uid=alice,ou=people,dc=example,dc=com'), true)
    // DN matching is the server's: case and spacing differences still match.
    assert.equal(await d.isMember(submitters, 'UID=Alice, OU=People,DC=example,DC=com'), true)
    assert.equal(await d.isMember(submitters, 'uid=carol,ou=people,dc=example,dc=com'), false)
  })

  test('a missing group is no membership, and metacharacters in the DN stay literal', async () => {
    const d = open()
    assert.equal(
      await d.isMember('cn=nope,ou=groups,dc=example,dc=com', 'uid=alice,ou=people,dc=example,dc=com'),
      false,
    )
    assert.equal(await d.isMember(submitters, '*'), false)
    assert.equal(await d.isMember(submitters, 'uid=alice,ou=people,dc=example,dc=com)(member=*'), false)
  })
})

describe('the entry a login names (findLoginEntry)', () => {
  test('search mode: the one user_filter match', async () => {
    const d = open()
    const r = await findLoginEntry(d, 'search', 'a.liddell@example.com', ['mail'])
    assert.equal(r.kind === 'found' && r.entry.dn, 'uid=alice,ou=people,dc=example,dc=com')
    assert.deepEqual(await findLoginEntry(d, 'search', 'nobody', ['mail']), {
      kind: 'none',
      server: slapd.url,
    })
  })

  test('template mode: the one template DN that exists; two existing DNs are ambiguous', async () => {
    const templates = [
      'ou=%l,dc=example,dc=com',
      'uid=alice,ou=%l,dc=example,dc=com',
      'uid=%l,ou=people,dc=example,dc=com',
    ]
    const d = open({ mode: 'template', dn_template: templates })
    // Only the third template names an entry for "alice": its attributes are read.
    const alice = await findLoginEntry(d, 'template', 'alice', ['mail'])
    assert.equal(alice.kind === 'found' && alice.entry.dn, 'uid=alice,ou=people,dc=example,dc=com')
    assert.deepEqual(alice.kind === 'found' && alice.entry.attributes.mail?.sort(), [
      'a.liddell@example.com',
      'alice@example.com',
    ])
    // "people" names ou=people and uid=alice,ou=people: which user is meant is unknown, so none is chosen.
    assert.deepEqual(await findLoginEntry(d, 'template', 'people', ['mail']), { kind: 'ambiguous' })
    assert.deepEqual(await findLoginEntry(d, 'template', 'nobody', ['mail']), { kind: 'none' })
    // The same DN from two templates is one entry.
    const twice = open({
      mode: 'template',
      dn_template: ['uid=%l,ou=people,dc=example,dc=com', 'UID=%l,ou=people,dc=example,dc=com'],
    })
    assert.equal((await findLoginEntry(twice, 'template', 'bob', ['mail'])).kind, 'found')
  })
})

describe('template mode', () => {
  test('binds to the templated DN; escaping keeps the login inside the RDN value', async () => {
    const d = open({
      mode: 'template',
      dn_template: 'uid=%l,ou=people,dc=example,dc=com',
      bind_dn: '',
      bind_password: '',
      base_dn: '',
    })
    assert.equal((await authenticate(d, 'template', 'alice', ALICE.password)).outcome, 'OK')
    assert.equal((await authenticate(d, 'template', 'alice@example.com', ALICE.password)).outcome, 'OK')
    assert.equal((await authenticate(d, 'template', 'alice', 'nope')).outcome, 'PASSWORD_MISMATCH')
    // "bob,ou=people" must not become a different DN; with alice's password it fails either way.
    const r = await authenticate(d, 'template', 'alice,ou=people,dc=example,dc=com', ALICE.password)
    assert.equal(r.outcome, 'PASSWORD_MISMATCH')
    assert.equal(r.dn, 'uid=alice\\,ou\\=people\\,dc\\=example\\,dc\\=com,ou=people,dc=example,dc=com')
  })
})

describe('proxy_logins in template mode', () => {
  const templates = ['uid=%l,ou=services,dc=example,dc=com', 'uid=%l,ou=people,dc=example,dc=com']
  const auth = parseAuthConfig({ main: { proxy_logins: 'relay,mailer' } })
  assert.ok(auth.ok)
  const cfg = auth.cfg
  const as = (authcid: string, password: string, authzid = '') => ({ authcid, authzid, password })

  test('the privilege holds only for the one entry the login names, never for another entry the password binds to', async () => {
    const d = open({ mode: 'template', dn_template: templates, base_dn: '' })
    const cache = new CredentialCache({ ttlMs: 60_000, negativeTtlMs: 60_000, staleMs: 0, maxEntries: 10 })
    const ctx = { directory: d, mode: 'template' as const, cfg, cache }
    // The ordinary user uid=relay,ou=people logs in as themself: fine, and cached.
    const own = await verifyCredentials(ctx, as('relay', 'ordinary-user-password'))
    assert.deepEqual([own.outcome, own.user], ['OK', 'relay'])
    // With an authzid the same password is refused, cache or not: "relay" names two entries.
    for (const password of ['ordinary-user-password', 'real-service-secret']) {
      const v = await verifyCredentials(ctx, as('relay', password, 'alice@example.com'))
      assert.deepEqual(
        [v.outcome, v.rule, v.reason],
        ['AUTHZID_REFUSED', 'authz', 'proxy_login_not_unique'],
        password,
      )
      assert.match(v.detail ?? '', /several dn_templates/)
    }
    assert.equal(
      (await verifyCredentials(ctx, as('relay', 'ordinary-user-password'))).reason,
      'cache_ok',
      'the refusal cached nothing against the own login',
    )
    // A proxy login that names one entry acts as the authzid.
    const m = await verifyCredentials(ctx, as('mailer', 'mailer-secret', 'alice@example.com'))
    assert.deepEqual([m.outcome, m.login, m.user], ['OK', 'mailer', 'alice@example.com'])
    assert.equal(
      (await verifyCredentials(ctx, as('mailer', 'wrong', 'alice@example.com'))).outcome,
      'PASSWORD_MISMATCH',
    )
  })

  test('without a bind_dn that can read the entries the privilege fails closed', async () => {
    const d = open({ mode: 'template', dn_template: templates, base_dn: '', bind_dn: '', bind_password: '' })
    const v = await verifyCredentials(
      { directory: d, mode: 'template', cfg },
      as('mailer', 'mailer-secret', 'alice@example.com'),
    )
    assert.deepEqual([v.outcome, v.reason], ['AUTHZID_REFUSED', 'proxy_login_not_unique'])
    assert.equal(
      (await verifyCredentials({ directory: d, mode: 'template', cfg }, as('mailer', 'mailer-secret')))
        .outcome,
      'OK',
      'logging in as itself still works',
    )
  })
})

describe('connections', () => {
  test('many authentications reuse a bounded number of connections', async () => {
    const d = open({ pool_size: 2, bind_pool_size: 3 })
    const start = accepted()
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        authenticate(d, 'search', 'alice', i % 3 ? ALICE.password : 'wrong'),
      ),
    )
    for (let i = 0; i < 20; i++)
      assert.equal((await authenticate(d, 'search', 'alice', ALICE.password)).outcome, 'OK')
    const opened = accepted() - start
    assert.ok(opened >= 2 && opened <= 5, `opened ${opened} connections for 50 authentications`)
  })

  test('directory down: a typed outage, not a wrong password; recovery without a restart', async () => {
    const d = open()
    assert.equal((await authenticate(d, 'search', 'alice', ALICE.password)).outcome, 'OK')
    await slapd.stop()
    try {
      await assert.rejects(authenticate(d, 'search', 'alice', ALICE.password), DirectoryUnavailableError)
      await assert.rejects(d.findUser(loginParts('alice'), ['1.1']), DirectoryUnavailableError)
    } finally {
      await slapd.start()
    }
    assert.equal((await authenticate(d, 'search', 'alice', ALICE.password)).outcome, 'OK')
  })

  test('close() leaves no connection open on the server', async () => {
    const before = openConnections()
    const d = createDirectory(configFor())
    await Promise.all([1, 2, 3].map(() => authenticate(d, 'search', 'alice', ALICE.password)))
    assert.ok(openConnections().size > before.size, 'the pools opened connections')
    await d.close()
    await new Promise((r) => setTimeout(r, 300))
    assert.deepEqual([...openConnections()].sort(), [...before].sort())
    await assert.rejects(d.findUser(loginParts('alice'), ['1.1']))
  })
})
