// The AUTH decision chain (lib/authn/verify) over a fake directory: which
// source decides, in which order, and what is cached. LDAP behaviour itself
// is tested against slapd in directory*.test.ts.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseAuthConfig, type AuthConfig } from '../../../lib/authn/config'
import { CredentialCache } from '../../../lib/authn/cache'
import { verifyCredentials, type VerifyContext } from '../../../lib/authn/verify'
import { parseLocalUsers } from '../../../lib/authn/local_users'
import { sha512crypt } from '../../../lib/authn/sha512crypt'
import type { AuthDirectory } from '../../../lib/ldap/types'
import { fakeDirectory as sharedFake, fakeDirectoryConfig } from '../../harness/fake_directory'

interface FakeUser {
  password: string
  attributes?: Record<string, string[]>
}

/** The shared fake with one entry per login (found by its mail value) and the group cn=staff. */
function fakeDirectory(users: Record<string, FakeUser>) {
  const dnOf = (login: string) => `uid=${login.split('@')[0]},ou=people,dc=example,dc=com`
  const staff = { dn: 'cn=staff,dc=example,dc=com', attributes: { member: [] as string[] } }
  const people = Object.entries(users).map(([login, u]) => ({
    dn: dnOf(login),
    password: u.password,
    attributes: { objectClass: ['inetOrgPerson'], mail: [login], ...u.attributes },
  }))
  const { dir, state } = sharedFake(fakeDirectoryConfig(), [...people, staff])
  return { dir, state, dnOf, staff }
}

function config(main: Record<string, unknown> = {}): AuthConfig {
  const r = parseAuthConfig({ main })
  if (!r.ok) throw new Error(r.errors.join('; '))
  return r.cfg
}

function context(dir: AuthDirectory, cfg: AuthConfig, extra: Partial<VerifyContext> = {}): VerifyContext {
  return { directory: dir, mode: 'search', cfg, ...extra }
}

const attempt = (authcid: string, password: string, authzid = '') => ({ authcid, authzid, password })

describe('verifyCredentials', () => {
  test('directory bind: OK, mismatch, unknown, outage', async () => {
    const { dir, state } = fakeDirectory({ 'alice@example.com': { password: 'pw' } })
    const ctx = context(dir, config())
    assert.equal((await verifyCredentials(ctx, attempt('alice@example.com', 'pw'))).reason, 'bind_ok')
    assert.equal(
      (await verifyCredentials(ctx, attempt('alice@example.com', 'x'))).outcome,
      'PASSWORD_MISMATCH',
    )
    assert.equal((await verifyCredentials(ctx, attempt('mallory@example.com', 'x'))).outcome, 'USER_UNKNOWN')
    state.down = true
    const down = await verifyCredentials(ctx, attempt('alice@example.com', 'pw'))
    assert.equal(down.outcome, 'DIRECTORY_DOWN')
    assert.match(down.detail ?? '', /ECONNREFUSED/)
  })

  test('authzid: refused unless the login is a proxy login; the session then acts as the authzid', async () => {
    const { dir, state } = fakeDirectory({
      'alice@example.com': { password: 'pw' },
      'admin@example.com': { password: 'root' },
    })
    const plain = context(dir, config())
    const r = await verifyCredentials(plain, attempt('alice@example.com', 'pw', 'bob@example.com'))
    assert.deepEqual([r.outcome, r.rule, r.reason], ['AUTHZID_REFUSED', 'authz', 'authzid_not_permitted'])
    assert.equal(state.binds, 0, 'refused before any bind')
    assert.equal(
      (await verifyCredentials(plain, attempt('alice@example.com', 'pw', 'Alice@EXAMPLE.com'))).outcome,
      'OK',
      'same identity',
    )
    // The proxy login is looked up in the directory as a login is; this fake matches exactly
    // (case-insensitive matching: test/hooks/ldap_auth_attempt.test.ts, on the shared fake directory).
    const proxy = context(dir, config({ proxy_logins: 'admin@example.com' }))
    const p = await verifyCredentials(proxy, attempt('admin@example.com', 'root', 'bob@example.com'))
    assert.deepEqual([p.outcome, p.login, p.user], ['OK', 'admin@example.com', 'bob@example.com'])
    assert.equal(
      (await verifyCredentials(proxy, attempt('admin@example.com', 'wrong', 'bob@example.com'))).outcome,
      'PASSWORD_MISMATCH',
    )
    assert.equal(
      (await verifyCredentials(proxy, attempt('admin@example.com', 'root', 'bad\nuser'))).reason,
      'invalid_authzid',
    )
  })

  test('the empty password never reaches the directory', async () => {
    const { dir, state } = fakeDirectory({ 'alice@example.com': { password: '' } })
    const r = await verifyCredentials(context(dir, config()), attempt('alice@example.com', ''))
    assert.equal(r.outcome, 'EMPTY_PASSWORD')
    assert.equal(state.binds + state.searches, 0)
  })

  test('account state after the password: refusal reasons, and nothing is checked for a wrong password', async () => {
    const { dir, dnOf, staff } = fakeDirectory({
      'dave@example.com': { password: 'pw', attributes: { useraccountcontrol: ['514'] } },
      'erin@example.com': { password: 'pw', attributes: { useraccountcontrol: ['512'] } },
    })
    const cfg = config({ check_user_account_control: true, require_group: 'cn=staff,dc=example,dc=com' })
    const ctx = context(dir, cfg)
    const dave = await verifyCredentials(ctx, attempt('dave@example.com', 'pw'))
    assert.deepEqual(
      [dave.outcome, dave.rule, dave.reason],
      ['ACCOUNT_REFUSED', 'authz', 'ad_account_disabled'],
    )
    assert.equal(
      (await verifyCredentials(ctx, attempt('dave@example.com', 'wrong'))).reason,
      'invalid_credentials',
    )
    assert.equal(
      (await verifyCredentials(ctx, attempt('erin@example.com', 'pw'))).reason,
      'not_in_required_group',
    )
    staff.attributes.member.push(dnOf('erin@example.com'))
    assert.equal((await verifyCredentials(ctx, attempt('erin@example.com', 'pw'))).outcome, 'OK')
  })

  test('cache: hits skip the directory; refusals are cached negatively; stale entries only when allowed', async () => {
    const { dir, state } = fakeDirectory({ 'alice@example.com': { password: 'pw' } })
    const cfg = config({ cache_ttl: 60, negative_cache_ttl: 60 })
    const cache = new CredentialCache({ ttlMs: 60_000, negativeTtlMs: 60_000, staleMs: 0, maxEntries: 10 })
    const ctx = context(dir, cfg, { cache })
    await verifyCredentials(ctx, attempt('alice@example.com', 'pw'))
    const binds = state.binds
    assert.equal((await verifyCredentials(ctx, attempt('alice@example.com', 'pw'))).reason, 'cache_ok')
    await verifyCredentials(ctx, attempt('alice@example.com', 'guess'))
    const neg = await verifyCredentials(ctx, attempt('alice@example.com', 'guess'))
    assert.deepEqual(
      [neg.outcome, neg.reason, neg.detail],
      ['PASSWORD_MISMATCH', 'invalid_credentials', 'negative cache'],
    )
    assert.equal(state.binds, binds + 1, 'one bind for the guess, none for the hit and the repeat')
    state.down = true
    const stale = new CredentialCache({ ttlMs: 1, negativeTtlMs: 0, staleMs: 60_000, maxEntries: 10 })
    stale.storePositive('alice@example.com', 'pw')
    await new Promise((r) => setTimeout(r, 5))
    assert.equal(
      (await verifyCredentials({ ...ctx, cache: stale }, attempt('alice@example.com', 'pw'))).outcome,
      'DIRECTORY_DOWN',
      'option off',
    )
    const allowed = { ...ctx, cache: stale, cfg: config({ cache_when_directory_down: true }) }
    assert.equal(
      (await verifyCredentials(allowed, attempt('alice@example.com', 'pw'))).reason,
      'cache_ok_directory_down',
    )
    assert.equal(
      (await verifyCredentials(allowed, attempt('alice@example.com', 'other'))).outcome,
      'DIRECTORY_DOWN',
    )
  })

  test("a local user's identity is the login as the file writes it, not as typed (the file compares case-insensitively)", async () => {
    const { dir } = fakeDirectory({})
    const file = parseLocalUsers({
      users: { 'Relay-Svc@example.com': sha512crypt('svc-pw', { rounds: 1000 }) },
    })
    assert.ok(file.ok)
    const first = context(dir, config({ local_users: 'first' }), { localUsers: file.cfg })
    const v = await verifyCredentials(first, attempt('RELAY-SVC@Example.com', 'svc-pw'))
    assert.deepEqual(
      [v.outcome, v.reason, v.identity, v.user],
      ['OK', 'local_ok', 'Relay-Svc@example.com', 'Relay-Svc@example.com'],
    )
  })

  test('local users: first decides for listed logins; last only for logins the directory lacks; fallback when down', async () => {
    const { dir, state } = fakeDirectory({ 'alice@example.com': { password: 'dir-pw' } })
    const file = parseLocalUsers({
      users: {
        'svc@example.com': sha512crypt('svc-pw', { rounds: 1000 }),
        'alice@example.com': sha512crypt('file-pw', { rounds: 1000 }),
      },
    })
    assert.ok(file.ok)
    const localUsers = file.cfg
    const first = context(dir, config({ local_users: 'first' }), { localUsers })
    assert.equal((await verifyCredentials(first, attempt('svc@example.com', 'svc-pw'))).reason, 'local_ok')
    assert.equal(
      (await verifyCredentials(first, attempt('svc@example.com', 'x'))).outcome,
      'PASSWORD_MISMATCH',
    )
    assert.equal(
      (await verifyCredentials(first, attempt('alice@example.com', 'file-pw'))).reason,
      'local_ok',
      'the file wins',
    )
    assert.equal(state.binds + state.searches, 0, 'listed logins never reach the directory')

    const last = context(dir, config({ local_users: 'last' }), { localUsers })
    assert.equal(
      (await verifyCredentials(last, attempt('alice@example.com', 'file-pw'))).outcome,
      'PASSWORD_MISMATCH',
      'the directory wins',
    )
    assert.equal((await verifyCredentials(last, attempt('svc@example.com', 'svc-pw'))).reason, 'local_ok')
    state.down = true
    assert.equal(
      (await verifyCredentials(last, attempt('alice@example.com', 'file-pw'))).outcome,
      'DIRECTORY_DOWN',
      'fallback off',
    )
    const fallback = context(dir, config({ local_users: 'last', local_users_when_directory_down: true }), {
      localUsers,
    })
    assert.equal(
      (await verifyCredentials(fallback, attempt('alice@example.com', 'file-pw'))).reason,
      'local_ok_directory_down',
    )
    assert.equal(
      (await verifyCredentials(fallback, attempt('bob@example.com', 'x'))).outcome,
      'DIRECTORY_DOWN',
      'not listed',
    )
    const off = context(dir, config(), { localUsers })
    state.down = false
    assert.equal(
      (await verifyCredentials(off, attempt('svc@example.com', 'svc-pw'))).outcome,
      'USER_UNKNOWN',
      'local_users=off',
    )
  })

  test('our pool saturated (directory up) is 454 directory_busy, and the directory-down fallbacks are not used', async () => {
    const { dir, state } = fakeDirectory({ 'alice@example.com': { password: 'dir-pw' } })
    const file = parseLocalUsers({ users: { 'alice@example.com': sha512crypt('file-pw', { rounds: 1000 }) } })
    assert.ok(file.ok)
    const stale = new CredentialCache({ ttlMs: 1, negativeTtlMs: 0, staleMs: 60_000, maxEntries: 10 })
    stale.storePositive('alice@example.com', 'dir-pw')
    await new Promise((r) => setTimeout(r, 5))
    const cfg = config({
      cache_when_directory_down: true,
      local_users: 'last',
      local_users_when_directory_down: true,
    })
    const ctx = context(dir, cfg, { cache: stale, localUsers: file.cfg })
    state.busy = true
    for (const password of ['dir-pw', 'file-pw']) {
      const v = await verifyCredentials(ctx, attempt('alice@example.com', password))
      assert.deepEqual([v.outcome, v.rule, v.reason], ['DIRECTORY_DOWN', 'authn', 'directory_busy'], password)
      assert.match(v.detail ?? '', /pool busy/)
    }
    // The same fallbacks do apply to a real outage.
    state.busy = false
    state.down = true
    assert.equal(
      (await verifyCredentials(ctx, attempt('alice@example.com', 'dir-pw'))).reason,
      'cache_ok_directory_down',
    )
    assert.equal(
      (await verifyCredentials(ctx, attempt('alice@example.com', 'file-pw'))).reason,
      'local_ok_directory_down',
    )
  })
})
