// lib/authn/authenticator: the one wiring of the verifier, from the three
// configurations (ldap_directory.ini, ldap_auth.ini, auth_enc_file.ini) and the
// directory's pools, over the shared fake directory. The decision chain itself:
// verify.test.ts; the plugin around it: test/hooks/ldap_auth_attempt.test.ts.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createAuthenticator, credentialCacheFor } from '../../../lib/authn/authenticator'
import { parseAuthConfig, type AuthConfig } from '../../../lib/authn/config'
import { parseLocalUsers } from '../../../lib/authn/local_users'
import { sha512crypt } from '../../../lib/authn/sha512crypt'
import { parseDirectoryConfig, type DirectoryConfig } from '../../../lib/ldap/config'
import type { AuthDirectory } from '../../../lib/ldap/types'
import { DirectoryHandle } from '../../../lib/ldap/handle'
import { fakeDirectory, type FakeEntry } from '../../harness/fake_directory'

const ENTRIES: FakeEntry[] = [
  {
    dn: 'uid=alice,ou=people,dc=example,dc=com',
    password: 'wonderland-42',
    attributes: { objectClass: ['inetOrgPerson'], uid: ['alice'], mail: ['alice@example.com'] },
  },
]
const TEMPLATE = { mode: 'template', dn_template: 'uid=%l,ou=people,dc=example,dc=com' }
const attempt = (authcid: string, password: string) => ({ authcid, authzid: '', password })

function auth(main: Record<string, unknown> = {}): AuthConfig {
  const r = parseAuthConfig({ main })
  assert.ok(r.ok, r.ok ? '' : r.errors.join())
  return r.cfg
}
function directory(main: Record<string, unknown> = {}): DirectoryConfig {
  const r = parseDirectoryConfig({
    main: { base_dn: 'dc=example,dc=com', bind_dn: 'cn=x', bind_password: 'x', ...main },
  })
  assert.ok(r.ok, r.ok ? '' : r.errors.join())
  return r.cfg
}

/** A handle whose directory is the fake, counting how many directories it made and closed. */
function handleOn(cfg: DirectoryConfig) {
  const fake = fakeDirectory(cfg, ENTRIES)
  const counts = { made: 0, closed: 0 }
  const handle = new DirectoryHandle((): AuthDirectory => {
    counts.made++
    return { ...fake.dir, close: async () => void counts.closed++ }
  })
  handle.update(cfg)
  return { handle, fake, counts }
}

describe('createAuthenticator', () => {
  test("the directory's mode and identity rule decide: template uid=%l makes alice@ceo.example alice", async () => {
    const cfg = directory(TEMPLATE)
    const { handle } = handleOn(cfg)
    const a = createAuthenticator({ directory: cfg, auth: auth(), handle })
    const v = await a.verify(attempt('alice@ceo.example', 'wonderland-42'))
    assert.deepEqual(
      [v.outcome, v.reason, v.login, v.identity, v.user],
      ['OK', 'bind_ok', 'alice@ceo.example', 'alice', 'alice'],
    )
    assert.equal((await a.verify(attempt('alice', 'wrong'))).outcome, 'PASSWORD_MISMATCH')
  })

  test('without a cache given, one as ldap_auth.ini sets it; close() retires it, and leaves a given handle open', async () => {
    const cfg = directory()
    const { handle, fake, counts } = handleOn(cfg)
    const a = createAuthenticator({ directory: cfg, auth: auth({ cache_ttl: 60 }), handle })
    assert.equal((await a.verify(attempt('alice@example.com', 'wonderland-42'))).reason, 'bind_ok')
    const binds = fake.state.binds
    assert.equal((await a.verify(attempt('alice@example.com', 'wonderland-42'))).reason, 'cache_ok')
    assert.equal(fake.state.binds, binds, 'answered from the cache')
    await a.close()
    assert.equal(counts.closed, 0, "the handle is the caller's")
    assert.equal((await a.verify(attempt('alice@example.com', 'wonderland-42'))).reason, 'bind_ok')
    assert.equal(fake.state.binds, binds + 1, 'a retired cache never answers')
  })

  test("a given cache is the caller's: shared by authenticators, and close() leaves it", async () => {
    const cfg = directory()
    const { handle, fake } = handleOn(cfg)
    const cache = credentialCacheFor(auth({ cache_ttl: 60 }))
    const first = createAuthenticator({ directory: cfg, auth: auth({ cache_ttl: 60 }), cache, handle })
    await first.verify(attempt('alice@example.com', 'wonderland-42'))
    await first.close()
    const second = createAuthenticator({ directory: cfg, auth: auth({ cache_ttl: 60 }), cache, handle })
    const binds = fake.state.binds
    assert.equal((await second.verify(attempt('alice@example.com', 'wonderland-42'))).reason, 'cache_ok')
    assert.equal(fake.state.binds, binds)
  })

  test('the local credentials file, as local_users says', async () => {
    const cfg = directory()
    const { handle, fake } = handleOn(cfg)
    const file = parseLocalUsers({ users: { 'svc@example.com': sha512crypt('svc-pw', { rounds: 1000 }) } })
    assert.ok(file.ok)
    const on = createAuthenticator({
      directory: cfg,
      auth: auth({ local_users: 'first' }),
      localUsers: file.cfg,
      handle,
    })
    assert.equal((await on.verify(attempt('svc@example.com', 'svc-pw'))).reason, 'local_ok')
    assert.equal(fake.state.binds + fake.state.searches, 0)
    const off = createAuthenticator({ directory: cfg, auth: auth(), localUsers: file.cfg, handle })
    assert.equal((await off.verify(attempt('svc@example.com', 'svc-pw'))).outcome, 'USER_UNKNOWN')
  })

  test('each attempt runs through the handle: a reload closes the old directory only after the attempt', async () => {
    const cfg = directory()
    const { handle, counts } = handleOn(cfg)
    const a = createAuthenticator({ directory: cfg, auth: auth(), handle })
    const running = a.verify(attempt('alice@example.com', 'wonderland-42'))
    handle.update(directory({ timeout: 4000 }))
    assert.equal(counts.closed, 0, 'the attempt still holds the old directory')
    assert.equal((await running).outcome, 'OK')
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(counts, { made: 2, closed: 1 })
  })

  test('without a handle it opens the directory itself, and close() closes it', async () => {
    // Nothing listens on port 1: an outage, answered as one (454), and nothing left open.
    const cfg = directory({ servers: 'ldap://127.0.0.1:1', connect_timeout: 500, timeout: 500 })
    const a = createAuthenticator({ directory: cfg, auth: auth() })
    const v = await a.verify(attempt('alice@example.com', 'wonderland-42'))
    assert.deepEqual([v.outcome, v.reason], ['DIRECTORY_DOWN', 'directory_unavailable'])
    await a.close()
    await assert.rejects(a.verify(attempt('alice@example.com', 'wonderland-42')), /directory not configured/)
  })
})

describe('credentialCacheFor', () => {
  test('keeps entries for use while the directory is down only when cache_when_directory_down allows it', () => {
    for (const allowed of [false, true]) {
      const cache = credentialCacheFor(auth({ cache_ttl: 60, cache_when_directory_down: allowed }))
      cache.storePositive('alice', 'pw')
      assert.equal(cache.lookupStale('alice', 'pw'), allowed)
    }
    assert.equal(credentialCacheFor(auth()).enabled, false, 'all ttls 0 by default: off')
  })
})
