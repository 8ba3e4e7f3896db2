// Account-state checks, users without a usable password and the credential
// cache against the real slapd (AD-like attributes from
// test/fixtures/directory-extras.schema, ppolicy attributes from its module).
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Attribute, Change, Client } from 'ldapts'
import { parseAuthConfig, type AuthConfig } from '../../lib/authn/config'
import { CredentialCache } from '../../lib/authn/cache'
import { verifyCredentials } from '../../lib/authn/verify'
import { parseLocalUsers } from '../../lib/authn/local_users'
import { sha512crypt } from '../../lib/authn/sha512crypt'
import { parseDirectoryConfig } from '../../lib/ldap/config'
import { createDirectory, type LdapDirectory as Directory } from '../../lib/ldap/directory'
import { SERVICE_ACCOUNT } from '../harness/directories'
import { startSlapd, type Slapd } from '../harness/slapd'
import { DEMO_LDIF, FIXTURE_DIR } from '../harness/stack'

const SCHEMA = path.join(FIXTURE_DIR, 'directory-extras.schema')
const ACCOUNTS = path.join(FIXTURE_DIR, 'account-states.ldif')
const SERVICE = SERVICE_ACCOUNT

let slapd: Slapd
const dirs: Directory[] = []

function open(s: Slapd, main: Record<string, unknown> = {}): Directory {
  const r = parseDirectoryConfig({
    main: { servers: s.url, timeout: 3000, connect_timeout: 1000, ...SERVICE, ...main },
  })
  if (!r.ok) throw new Error(r.errors.join('; '))
  const d = createDirectory(r.cfg)
  dirs.push(d)
  return d
}

function auth(main: Record<string, unknown>): AuthConfig {
  const r = parseAuthConfig({ main })
  if (!r.ok) throw new Error(r.errors.join('; '))
  return r.cfg
}

const ALL_CHECKS = {
  check_user_account_control: true,
  check_account_expires: true,
  check_ppolicy_lock: true,
  disabled_attribute: 'employeeType',
  disabled_values: 'disabled',
}

function binds(s: Slapd, dn: string): number {
  return (
    s.logTail(1_000_000).match(new RegExp(`BIND dn="${dn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`, 'g')) ??
    []
  ).length
}

before(async () => {
  // The ppolicy module defines pwdAccountLockedTime; the overlay is not active, so slapd itself refuses nobody.
  slapd = await startSlapd({ ldif: [DEMO_LDIF, ACCOUNTS], schemas: [SCHEMA], modules: ['ppolicy'] })
})
after(async () => {
  for (const d of dirs) await d.close()
  await slapd?.dispose()
})

for (const mode of ['search', 'template'] as const) {
  describe(`account state after the password check (${mode} mode)`, () => {
    const dirFor = () =>
      mode === 'search'
        ? open(slapd)
        : open(slapd, { mode, dn_template: 'uid=%l,ou=people,dc=example,dc=com', base_dn: '' })

    test('each refused account has its own reason; a good account passes; all checks off lets all in', async () => {
      const d = dirFor()
      const cfg = auth(ALL_CHECKS)
      const expected: Record<string, string> = {
        dave: 'ad_account_disabled',
        erin: 'ad_account_locked',
        frank: 'account_expired',
        heidi: 'ppolicy_locked',
        ivan: 'account_disabled',
        grace: 'bind_ok',
        // Not an AD account: without userAccountControl and accountExpires the AD checks cannot pass.
        alice: 'account_state_unreadable',
      }
      for (const [uid, reason] of Object.entries(expected)) {
        const v = await verifyCredentials(
          { directory: d, mode, cfg },
          { authcid: uid, authzid: '', password: uid === 'alice' ? 'wonderland-42' : `pw-${uid}` },
        )
        assert.equal(v.reason, reason, uid)
        assert.equal(v.outcome, reason === 'bind_ok' ? 'OK' : 'ACCOUNT_REFUSED', uid)
        // With the checks off the same password is accepted: the refusal is ours, not slapd's.
        if (uid !== 'alice')
          assert.equal(
            (
              await verifyCredentials(
                { directory: d, mode, cfg: auth({}) },
                { authcid: uid, authzid: '', password: `pw-${uid}` },
              )
            ).outcome,
            'OK',
            uid,
          )
      }
      // Without the AD checks alice (no AD attributes, not locked, not disabled) passes.
      const nonAd = auth({
        check_ppolicy_lock: true,
        disabled_attribute: 'employeeType',
        disabled_values: 'disabled',
      })
      assert.equal(
        (
          await verifyCredentials(
            { directory: d, mode, cfg: nonAd },
            { authcid: 'alice', authzid: '', password: 'wonderland-42' },
          )
        ).reason,
        'bind_ok',
      )
      // A wrong password is refused as such, before any account check.
      assert.equal(
        (
          await verifyCredentials(
            { directory: d, mode, cfg },
            { authcid: 'dave', authzid: '', password: 'nope' },
          )
        ).reason,
        'invalid_credentials',
      )
    })

    test('required group: by the group entry (member) and by the user entry (memberOf)', async () => {
      const d = dirFor()
      const group = 'cn=submitters,ou=groups,dc=example,dc=com'
      const viaGroup = auth({ require_group: group })
      const viaMemberOf = auth({
        require_group: 'CN=Submitters, OU=Groups, DC=example, DC=com',
        group_membership: 'memberof',
      })
      const login = (uid: string, password: string, cfg: AuthConfig) =>
        verifyCredentials({ directory: d, mode, cfg }, { authcid: uid, authzid: '', password })
      assert.equal((await login('alice', 'wonderland-42', viaGroup)).outcome, 'OK')
      assert.equal((await login('carol', 'higher-further-faster', viaGroup)).reason, 'not_in_required_group')
      assert.equal((await login('grace', 'pw-grace', viaMemberOf)).outcome, 'OK')
      assert.equal((await login('alice', 'wonderland-42', viaMemberOf)).reason, 'not_in_required_group')
    })
  })
}

describe('account-state attributes hidden from the user by ACLs (template mode)', () => {
  const HIDE = [
    'access to attrs=userAccountControl,employeeType',
    `  by dn.exact="${SERVICE.bind_dn}" read`,
    '  by * none',
  ]
  const cfg = () =>
    auth({
      check_user_account_control: true,
      disabled_attribute: 'employeeType',
      disabled_values: 'disabled',
    })
  const template = { mode: 'template', dn_template: 'uid=%l,ou=people,dc=example,dc=com', base_dn: '' }

  test('without bind_dn a hidden userAccountControl refuses (unreadable) instead of passing; with bind_dn the service account reads the real state', async () => {
    const hidden = await startSlapd({
      ldif: [DEMO_LDIF, ACCOUNTS],
      schemas: [SCHEMA],
      modules: ['ppolicy'],
      acl: HIDE,
    })
    try {
      const login = (d: Directory, uid: string, readStateAsService: boolean) =>
        verifyCredentials(
          { directory: d, mode: 'template', cfg: cfg(), readStateAsService },
          { authcid: uid, authzid: '', password: `pw-${uid}` },
        )
      const asUser = open(hidden, { ...template, bind_dn: '', bind_password: '' })
      // dave's userAccountControl says disabled, but the user cannot see it.
      assert.equal((await login(asUser, 'dave', false)).reason, 'account_state_unreadable')
      assert.equal((await login(asUser, 'grace', false)).reason, 'account_state_unreadable')
      const asService = open(hidden, template)
      assert.equal((await login(asService, 'dave', true)).reason, 'ad_account_disabled')
      assert.equal(
        (await login(asService, 'ivan', true)).reason,
        'account_disabled',
        'employeeType too, though hidden from ivan',
      )
      assert.equal((await login(asService, 'grace', true)).reason, 'bind_ok')
    } finally {
      await hidden.dispose()
    }
  })
})

describe('no usable password', () => {
  test('an entry without userPassword, or with an empty one, never authenticates; an empty password never binds', async () => {
    for (const mode of ['search', 'template'] as const) {
      const d =
        mode === 'search'
          ? open(slapd)
          : open(slapd, { mode, dn_template: 'uid=%l,ou=people,dc=example,dc=com' })
      for (const uid of ['nopass', 'emptypass']) {
        const dn = `uid=${uid},ou=people,dc=example,dc=com`
        for (const password of ['x', ' ', 'pw-' + uid]) {
          const v = await verifyCredentials(
            { directory: d, mode, cfg: auth({}) },
            { authcid: uid, authzid: '', password },
          )
          assert.equal(v.outcome, 'PASSWORD_MISMATCH', `${mode} ${uid} ${JSON.stringify(password)}`)
        }
        const before = binds(slapd, dn)
        const v = await verifyCredentials(
          { directory: d, mode, cfg: auth({}) },
          { authcid: uid, authzid: '', password: '' },
        )
        assert.equal(v.outcome, 'EMPTY_PASSWORD')
        // slapd is configured to accept unauthenticated binds: only our guard keeps this from succeeding.
        assert.equal(binds(slapd, dn), before, `${mode}: no bind for ${uid} with an empty password`)
        assert.equal(await d.checkPassword(dn, ''), false)
      }
    }
  })
})

describe('credential cache against slapd', () => {
  test('a password change in the directory is honoured after the cache ttl', async () => {
    const d = open(slapd)
    const ttlMs = 1500
    const cache = new CredentialCache({ ttlMs, negativeTtlMs: ttlMs, staleMs: 0, maxEntries: 100 })
    const cfg = auth({ cache_ttl: 2 })
    const ctx = { directory: d, mode: 'search' as const, cfg, cache }
    const login = (password: string) => verifyCredentials(ctx, { authcid: 'bob', authzid: '', password })
    const dn = 'uid=bob,ou=people,dc=example,dc=com'
    assert.equal((await login('can-we-fix-it')).reason, 'bind_ok')
    assert.equal((await login('new-bob-password')).reason, 'invalid_credentials')
    const admin = new Client({ url: slapd.url })
    await admin.bind(slapd.rootDn, slapd.rootPassword)
    await admin.modify(
      dn,
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'userPassword', values: ['new-bob-password'] }),
      }),
    )
    await admin.unbind()
    const bindsBefore = binds(slapd, dn)
    // Within the ttl the old password is still accepted from the cache, and the new one still refused.
    assert.equal((await login('can-we-fix-it')).reason, 'cache_ok')
    assert.equal((await login('new-bob-password')).detail, 'negative cache')
    assert.equal(binds(slapd, dn), bindsBefore, 'no bind while the entries are fresh')
    await sleep(ttlMs + 200)
    assert.equal((await login('can-we-fix-it')).reason, 'invalid_credentials')
    assert.equal((await login('new-bob-password')).reason, 'bind_ok')
  })
})

describe('while slapd is stopped', () => {
  test('a fresh-enough cached login and a listed local user are accepted only when their options allow it', async () => {
    const d = open(slapd, { timeout: 1000, connect_timeout: 500 })
    const cache = new CredentialCache({ ttlMs: 1, negativeTtlMs: 0, staleMs: 60_000, maxEntries: 10 })
    const file = parseLocalUsers({ users: { carol: sha512crypt('file-only-pw', { rounds: 1000 }) } })
    assert.ok(file.ok)
    const ctx = (main: Record<string, unknown>) => ({
      directory: d,
      mode: 'search' as const,
      cfg: auth(main),
      cache,
      localUsers: file.cfg,
    })
    const login = (main: Record<string, unknown>, authcid: string, password: string) =>
      verifyCredentials(ctx(main), { authcid, authzid: '', password })
    assert.equal((await login({}, 'alice', 'wonderland-42')).reason, 'bind_ok')
    await slapd.stop()
    try {
      assert.equal((await login({}, 'alice', 'wonderland-42')).outcome, 'DIRECTORY_DOWN', 'off by default')
      const stale = { cache_when_directory_down: true }
      assert.equal((await login(stale, 'alice', 'wonderland-42')).reason, 'cache_ok_directory_down')
      assert.equal((await login(stale, 'alice', 'wrong')).outcome, 'DIRECTORY_DOWN', 'never 535 while down')
      assert.equal(
        (await login({ local_users: 'last' }, 'carol', 'file-only-pw')).outcome,
        'DIRECTORY_DOWN',
        'fallback off by default',
      )
      const fallback = { local_users: 'last', local_users_when_directory_down: true }
      assert.equal((await login(fallback, 'carol', 'file-only-pw')).reason, 'local_ok_directory_down')
      assert.equal(
        (await login(fallback, 'bob', 'can-we-fix-it')).outcome,
        'DIRECTORY_DOWN',
        'not in the file',
      )
    } finally {
      await slapd.start()
    }
    // Back up: the directory decides again (carol's directory password, not the file's).
    assert.equal((await login({ local_users: 'last' }, 'carol', 'file-only-pw')).outcome, 'PASSWORD_MISMATCH')
  })
})

describe('ppolicy overlay active', () => {
  test('slapd refuses the locked account itself: still 535-class, never OK', async () => {
    const locked = await startSlapd({
      ldif: [DEMO_LDIF, ACCOUNTS],
      schemas: [SCHEMA],
      modules: ['ppolicy'],
      databaseDirectives: ['overlay ppolicy'],
    })
    try {
      const d = open(locked)
      const v = await verifyCredentials(
        { directory: d, mode: 'search', cfg: auth({ check_ppolicy_lock: true }) },
        { authcid: 'heidi', authzid: '', password: 'pw-heidi' },
      )
      assert.notEqual(v.outcome, 'OK')
      assert.equal(
        v.rule === 'authz' ? v.reason : v.reason,
        v.rule === 'authz' ? 'ppolicy_locked' : 'invalid_credentials',
      )
      assert.equal(
        (
          await verifyCredentials(
            { directory: d, mode: 'search', cfg: auth({}) },
            { authcid: 'alice', authzid: '', password: 'wonderland-42' },
          )
        ).outcome,
        'OK',
      )
      await d.close()
    } finally {
      await locked.dispose()
    }
  })
})
