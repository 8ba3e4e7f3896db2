// lib/ldap/directory when a server misbehaves in ways slapd cannot be made to
// on demand: fake servers (node:net, ldapjs) on 127.0.0.1, and slapd beside them.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { authenticate } from '../../lib/authn/password'
import { parseAuthConfig } from '../../lib/authn/config'
import { CredentialCache } from '../../lib/authn/cache'
import { verifyCredentials } from '../../lib/authn/verify'
import { parseDirectoryConfig } from '../../lib/ldap/config'
import { createDirectory, type LdapDirectory } from '../../lib/ldap/directory'
import { DirectoryBusyError, DirectoryUnavailableError } from '../../lib/ldap/errors'
import type { ServerEvent } from '../../lib/ldap/servers'
import { loginParts } from '../../lib/ldap/template'
import {
  scriptedServer,
  startTlsStallServer,
  type FakeServer,
  type Script,
  type ScriptedServer,
} from '../harness/fake_ldap'
import { SERVICE_ACCOUNT } from '../harness/directories'
import { startSlapd, type Slapd } from '../harness/slapd'
import { ALICE, DEMO_LDIF } from '../harness/stack'

const SERVICE = SERVICE_ACCOUNT
const ALICE_DN = 'uid=alice,ou=people,dc=example,dc=com'

let slapd: Slapd
const dirs: LdapDirectory[] = []
const fakes: FakeServer[] = []
before(async () => {
  slapd = await startSlapd({ ldif: [DEMO_LDIF] })
})
after(async () => {
  for (const d of dirs) await d.close()
  for (const f of fakes) await f.close()
  await slapd?.dispose()
})

/** A scripted first server: by default every bind and search succeeds, alice's entry found. */
async function scripted(overrides: Partial<Script>): Promise<ScriptedServer> {
  const fake = await scriptedServer({
    bind: () => 0,
    search: () => [{ dn: ALICE_DN, attributes: { uid: ['alice'] } }],
    ...overrides,
  })
  fakes.push(fake)
  return fake
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!check() && Date.now() < deadline) await sleep(50)
  return check()
}

function open(main: Record<string, unknown>, events: ServerEvent[] = []): LdapDirectory {
  const r = parseDirectoryConfig({
    main: { bind_dn: 'cn=svc,dc=example,dc=com', bind_password: 'x', base_dn: 'dc=example,dc=com', ...main },
  })
  if (!r.ok) throw new Error(r.errors.join('; '))
  const d = createDirectory(r.cfg, { onServerEvent: (e) => events.push(e) })
  dirs.push(d)
  return d
}

/** The settled outcome of `p`, or 'pending' after `ms` (a hang must fail the test, not stall it). */
async function within<T>(
  p: Promise<T>,
  ms: number,
): Promise<{ value?: T; error?: unknown; ms: number } | 'pending'> {
  const t = Date.now()
  const settled = p.then(
    (value) => ({ value, ms: Date.now() - t }),
    (error: unknown) => ({ error, ms: Date.now() - t }),
  )
  return Promise.race([settled, sleep(ms).then(() => 'pending' as const)])
}

describe('StartTLS that never completes', () => {
  test('fails within connect_timeout, frees the pool slot, marks the server down, and the health check keeps probing', async () => {
    const fake = await startTlsStallServer()
    fakes.push(fake)
    const events: ServerEvent[] = []
    const d = open(
      {
        servers: fake.url,
        starttls: true,
        connect_timeout: 500,
        timeout: 1000,
        pool_size: 1,
        health_check_interval: 500,
      },
      events,
    )
    for (const attempt of [1, 2]) {
      const r = await within(d.findUser(loginParts('alice'), ['1.1']), 6000)
      assert.notEqual(r, 'pending', `findUser #${attempt} still waiting after 6 s`)
      if (r === 'pending') return
      assert.ok(r.error instanceof DirectoryUnavailableError, `#${attempt}: ${String(r.error)}`)
      // The one pool slot was given back: the second attempt opened a connection of its own, not a pool timeout.
      assert.doesNotMatch((r.error as Error).message, /no free connection/)
      assert.ok(r.ms < 4000, `#${attempt} took ${r.ms} ms`)
    }
    assert.deepEqual(d.serverStatus(), [{ url: fake.url, up: false }])
    assert.match(events[0]?.reason ?? '', /StartTLS not completed within 500 ms/)
    // Each probe is a new connection; a probe stuck in the handshake would stop them.
    const seen = fake.connections
    await sleep(3000)
    assert.ok(fake.connections >= seen + 2, `probes kept coming: ${seen} -> ${fake.connections} connections`)
    assert.ok(!events.some((e) => e.up), 'never marked up')
  })
})

describe('LDAP results that mean "this server cannot serve" fail over to the next one', () => {
  const failoverConfig = (first: string) => ({
    servers: `${first},${slapd.url}`,
    ...SERVICE,
    timeout: 2000,
    connect_timeout: 1000,
    health_check_interval: 500,
  })

  for (const code of [51, 52, 53, 80]) {
    test(`result ${code} to the service bind on the first server: marked down, the second answers`, async () => {
      const fake = await scripted({ bind: () => code })
      const events: ServerEvent[] = []
      const d = open(failoverConfig(fake.url), events)
      const r = await authenticate(d, 'search', ALICE.login, ALICE.password)
      assert.equal(r.outcome, 'OK', r.reason)
      assert.deepEqual(
        d.serverStatus().map((x) => x.up),
        [false, true],
      )
      assert.match(events[0]?.reason ?? '', new RegExp(`service bind failed: LDAP result ${code}`))
    })
  }

  test('a service bind refused (49) by one replica: marked down, the second answers; its health check fails until the bind works again', async () => {
    const script: Partial<Script> = { bind: (dn) => (dn === SERVICE.bind_dn ? 49 : 0) }
    const fake = await scripted(script)
    const events: ServerEvent[] = []
    const d = open(failoverConfig(fake.url), events)
    assert.equal((await authenticate(d, 'search', ALICE.login, ALICE.password)).outcome, 'OK')
    assert.deepEqual(
      d.serverStatus().map((x) => x.up),
      [false, true],
    )
    // Probes bind as the service account: a refusal is not "up" (else it would flap up and down).
    const probesBefore = fake.binds.length
    await sleep(1500)
    assert.ok(fake.binds.length >= probesBefore + 2, 'the health check probed')
    assert.ok(!events.some((e) => e.up), 'never marked up while the bind is refused')
    fake.script.bind = () => 0
    assert.ok(
      await waitFor(() => events.some((e) => e.up && e.url === fake.url), 5000),
      'marked up once the bind works',
    )
  })

  for (const code of [51, 52, 53, 80]) {
    test(`result ${code} to a search: marked down, the search is retried on the second server`, async () => {
      const fake = await scripted({ search: () => code })
      const d = open(failoverConfig(fake.url))
      const r = await authenticate(d, 'search', ALICE.login, ALICE.password)
      assert.equal(r.outcome, 'OK', r.reason)
      assert.equal(fake.searches.length, 1, 'asked once, then the second server')
      assert.deepEqual(
        d.serverStatus().map((x) => x.up),
        [false, true],
      )
    })
  }

  test('result 52 to a user bind: marked down, the bind is retried on the second server', async () => {
    const fake = await scripted({ bind: (dn) => (dn === ALICE_DN ? 52 : 0) })
    const d = open(failoverConfig(fake.url))
    const r = await authenticate(d, 'search', ALICE.login, ALICE.password)
    assert.equal(r.outcome, 'OK', r.reason)
    assert.ok(fake.binds.includes(ALICE_DN))
    assert.deepEqual(
      d.serverStatus().map((x) => x.up),
      [false, true],
    )
    assert.equal(
      (await authenticate(d, 'search', ALICE.login, 'wrong')).outcome,
      'PASSWORD_MISMATCH',
      'a real refusal is still one',
    )
  })

  test('a single server answering 52: an outage (never a wrong password), and its health check fails', async () => {
    const fake = await scripted({ bind: () => 52 })
    const events: ServerEvent[] = []
    const d = open(
      { servers: fake.url, ...SERVICE, timeout: 2000, connect_timeout: 1000, health_check_interval: 500 },
      events,
    )
    await assert.rejects(authenticate(d, 'search', ALICE.login, ALICE.password), DirectoryUnavailableError)
    await sleep(1500)
    assert.ok(!events.some((e) => e.up), 'a 52 to the probe is not "up"')
  })
})

describe('template mode: reading the account state after a right password', () => {
  const auth = parseAuthConfig({ main: { check_user_account_control: true, negative_cache_ttl: 600 } })
  assert.ok(auth.ok)
  const cfg = auth.cfg
  const attempt = { authcid: 'alice', authzid: '', password: 'right' }
  const templateDir = (fake: ScriptedServer, extra: Record<string, unknown> = {}) =>
    open({
      servers: fake.url,
      mode: 'template',
      dn_template: 'uid=%l,ou=people,dc=example,dc=com',
      bind_dn: '',
      bind_password: '',
      base_dn: '',
      timeout: 2000,
      ...extra,
    })
  const cacheFor = () =>
    new CredentialCache({ ttlMs: 0, negativeTtlMs: 600_000, staleMs: 0, maxEntries: 100 })

  for (const code of [51, 52, 1, 11]) {
    test(`a self-read answered ${code} is an outage (454), never account_state_unreadable, and nothing is cached`, async () => {
      const fake = await scripted({ bind: (_dn, pw) => (pw === 'right' ? 0 : 49), search: () => code })
      const d = templateDir(fake)
      const cache = cacheFor()
      for (const n of [1, 2]) {
        const v = await verifyCredentials({ directory: d, mode: 'template', cfg, cache }, attempt)
        assert.deepEqual(
          [v.outcome, v.reason],
          ['DIRECTORY_DOWN', 'directory_unavailable'],
          `attempt ${n}: ${v.reason} ${v.detail ?? ''}`,
        )
        assert.equal(v.detail?.includes('negative cache'), false)
      }
      assert.equal(cache.size.negative, 0)
    })
  }

  for (const code of [50, 32]) {
    test(`a self-read refused with ${code} (ACLs) is account_state_unreadable (535), and is not negatively cached`, async () => {
      const fake = await scripted({ bind: (_dn, pw) => (pw === 'right' ? 0 : 49), search: () => code })
      const d = templateDir(fake)
      const cache = cacheFor()
      for (const n of [1, 2]) {
        const v = await verifyCredentials({ directory: d, mode: 'template', cfg, cache }, attempt)
        assert.deepEqual(
          [v.outcome, v.reason, v.detail],
          ['ACCOUNT_REFUSED', 'account_state_unreadable', undefined],
          `attempt ${n}`,
        )
      }
      assert.equal(fake.searches.length, 2, 'the second attempt read the entry again')
      assert.equal(cache.size.negative, 0)
      // Once the entry can be read, the right password is accepted at once.
      fake.script.search = () => [{ dn: ALICE_DN, attributes: { userAccountControl: ['512'] } }]
      assert.equal(
        (await verifyCredentials({ directory: d, mode: 'template', cfg, cache }, attempt)).outcome,
        'OK',
      )
    })
  }
})

describe('our own pool saturated', () => {
  test('a waiter that gets no connection within timeout while the server is up: DirectoryBusyError, and the server stays up', async () => {
    const fake = await scripted({ searchDelayMs: 900 })
    const d = open({ servers: fake.url, timeout: 1500, pool_size: 1 })
    const r = await Promise.allSettled([1, 2, 3].map(() => d.findUser(loginParts('alice'), ['1.1'])))
    assert.deepEqual(
      r.map((x) => x.status),
      ['fulfilled', 'fulfilled', 'rejected'],
    )
    const err = (r[2] as PromiseRejectedResult).reason
    assert.ok(err instanceof DirectoryBusyError, String(err))
    assert.match((err as Error).message, /connection pool busy/)
    assert.deepEqual(
      d.serverStatus().map((x) => x.up),
      [true],
    )
  })
})
