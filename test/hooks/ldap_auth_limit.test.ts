// plugins/ldap_auth/limit in verifyAttempt and the connect hook, on haraka-test-fixtures
// connections with a fake directory and a store of our choosing: a refused attempt
// never reaches the directory, a known-wrong password neither, the delay is the larger
// of the session's and the limiter's, and a failing or hung store never breaks AUTH.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import constants from 'haraka-constants'
import { attemptKeys, connectKeys } from '../../lib/limiter/keys'
import { MemoryStateStore } from '../../lib/state/memory'
import { StateUnavailableError, type StateStore } from '../../lib/state/store'
import { limit_connect } from '../../plugins/ldap_auth/limit_hooks'
import { fakeLdapAuthPlugin, fixturesConnection, plainAttempt } from '../harness/ldap_auth_plugin'

const IP = '192.0.2.44'
const NOTE = 'ldap_submission_state'

function setup(
  opts: { limits?: Record<string, unknown>; auth?: Record<string, unknown>; store?: StateStore } = {},
) {
  const { plugin, fake, logs, log } = fakeLdapAuthPlugin({
    auth: opts.auth,
    limits: { secret: 'hook-test-secret-0123456789', ...opts.limits },
  })
  const store = opts.store ?? new MemoryStateStore()
  const notes: Record<string, unknown> = { [NOTE]: store }
  /** One session from `ip`; attempt() is one PLAIN AUTH for alice, resolved with the reply. */
  const session = (ip = IP) => {
    const c = fixturesConnection({ ip, notes, log })
    const attempt = (password: string) => plainAttempt(plugin, c, password, { withinMs: 10_000 })
    return { c, attempt }
  }
  return { plugin, fake, logs, store, session, limits: plugin.limits! }
}

const audits = (logs: string[]) =>
  logs.filter((l) => l.startsWith('audit ')).map((l) => JSON.parse(l.slice(6)))

describe('the limiter before the directory', () => {
  test('a ban in force: 454 4.7.0, limit(banned_ip), the directory is not asked, the audit says refuse', async () => {
    const s = setup()
    const k = attemptKeys(s.limits, s.limits.key, IP, 'alice@example.com', 'x')
    await s.store.run(
      [{ op: 'set', key: k.banIp, value: String(Date.now() + 60_000), ttlMs: 60_000 }],
      Date.now(),
    )
    const { c, attempt } = s.session()
    const r = await attempt('right')
    assert.deepEqual([r.code, r.msg.split(' ')[0]], [454, '4.7.0'])
    assert.equal(s.fake.state.binds + s.fake.state.searches, 0)
    assert.deepEqual(c.results.get('ldap_auth')?.fail, ['limit(banned_ip)'])
    assert.equal(c.notes.auth_user, undefined)
    assert.equal(audits(s.logs).at(-1)?.limiter, 'refuse')
  })

  test('a password that already failed for the login: 535 without a bind, limit(known_wrong), audit shield', async () => {
    const s = setup()
    assert.equal((await s.session().attempt('stale')).code, 535)
    assert.equal(s.fake.state.binds, 1)
    const { c, attempt } = s.session('198.51.100.3')
    assert.equal((await attempt('stale')).code, 535)
    assert.equal(s.fake.state.binds, 1, 'not asked again, from another address either')
    assert.deepEqual(c.results.get('ldap_auth')?.fail, ['limit(known_wrong)'])
    assert.deepEqual(c.results.get('auth')?.fail, ['ldap_auth/PLAIN'], "auth_base's contract is kept")
    assert.equal(audits(s.logs).at(-1)?.limiter, 'shield')
    assert.equal((await s.session().attempt('right')).code, 235)
  })

  test('a success: 235, the source becomes familiar, the audit says allow', async () => {
    const s = setup()
    const { c, attempt } = s.session()
    assert.equal((await attempt('right')).code, 235)
    assert.equal(c.notes.auth_user, 'alice@example.com')
    assert.equal(c.relaying, true)
    assert.equal(audits(s.logs).at(-1)?.limiter, 'allow')
    const k = attemptKeys(s.limits, s.limits.key, IP, 'alice@example.com', 'x')
    const [seen] = await s.store.run(
      [{ op: 'seen', key: k.familiar, member: k.source, windowMs: 3_600_000 }],
      Date.now(),
    )
    assert.equal(seen, 1)
  })

  test('the reply waits the larger of the session delay and the limiter delay, not the sum', async () => {
    const s = setup({
      limits: { delay_after: 1, delay: 200, delay_max: 200 },
      auth: { failure_delay: 100, failure_delay_max: 100 },
    })
    await s.session().attempt('wrong1')
    assert.match(s.logs.join('\n'), /failure 1 of 3, reply in 200 ms/)
    const t = setup({
      limits: { delay_after: 1, delay: 50, delay_max: 50 },
      auth: { failure_delay: 300, failure_delay_max: 300 },
    })
    await t.session().attempt('wrong1')
    assert.match(t.logs.join('\n'), /failure 1 of 3, reply in 300 ms/)
    assert.equal(audits(s.logs).at(-1)?.limiter, 'delay')
  })

  test('the pair budget: a ban is recorded once (limit(ban_pair)), the next attempt is refused', async () => {
    const s = setup({ limits: { pair_failures: 2, delay: 0 } })
    await s.session().attempt('w1')
    const { c, attempt } = s.session()
    assert.equal((await attempt('w2')).code, 535)
    assert.ok(c.results.get('ldap_auth')?.fail.includes('limit(ban_pair)'))
    assert.match(
      s.logs.join('\n'),
      /limit\(ban_pair\) ip 192\.0\.2\.44\/32 with login alice@example\.com: 2\/2 distinct failures/,
    )
    assert.equal(audits(s.logs).at(-1)?.limiter, 'ban')
    assert.equal((await s.session().attempt('right')).code, 454)
  })

  test('off (enabled=false): the directory decides alone, the audit field is null', async () => {
    const s = setup({ limits: { enabled: false } })
    await s.session().attempt('stale')
    await s.session().attempt('stale')
    assert.equal(s.fake.state.binds, 2)
    assert.equal(audits(s.logs).at(-1)?.limiter, null)
  })
})

describe('store trouble never breaks AUTH', () => {
  test('a store that rejects: AUTH goes on, err limit(store_unavailable), one warning per change of state', async () => {
    let failing = true
    const memory = new MemoryStateStore()
    const flaky: StateStore = {
      kind: 'redis',
      run: (ops, now) => (failing ? Promise.reject(new Error('ECONNREFUSED')) : memory.run(ops, now)),
      close: async () => undefined,
    }
    const s = setup({ store: flaky })
    const { c, attempt } = s.session()
    assert.equal((await attempt('right')).code, 235)
    assert.equal((await s.session().attempt('wrong')).code, 535)
    assert.ok(c.results.get('ldap_auth')?.err.includes('limit(store_unavailable)'))
    const warnings = s.logs.filter((l) => /store failed \(ECONNREFUSED\)/.test(l))
    assert.equal(warnings.length, 1, warnings.join('\n'))
    assert.equal(audits(s.logs).at(-1)?.limiter, 'unavailable')
    failing = false
    assert.equal((await s.session().attempt('right')).code, 235)
    assert.match(s.logs.join('\n'), /store answers again/)
  })

  test('a store that fails closed (StateUnavailableError): 454 4.7.0 without the directory, fail limit(store_unavailable)', async () => {
    let failing = true
    const memory = new MemoryStateStore()
    const closed: StateStore = {
      kind: 'redis',
      run: (ops, now) =>
        failing
          ? Promise.reject(new StateUnavailableError('the shared store is unavailable (not connected)'))
          : memory.run(ops, now),
      close: async () => undefined,
    }
    const s = setup({ store: closed })
    const { c, attempt } = s.session()
    const r = await attempt('right')
    assert.equal(r.code, 454)
    assert.match(r.msg, /4\.7\.0/)
    assert.equal(s.fake.state.binds + s.fake.state.searches, 0, 'the directory is not asked')
    assert.ok(c.results.get('ldap_auth')?.fail.includes('limit(store_unavailable)'))
    assert.match(
      s.logs.join('\n'),
      /store failed \(the shared store is unavailable \(not connected\)\): AUTH is refused/,
    )
    failing = false
    assert.equal((await s.session().attempt('right')).code, 235)
  })

  test('a hung store: the attempt is answered after store_timeout, without the limiter', async () => {
    const hung: StateStore = {
      kind: 'redis',
      run: () => new Promise(() => undefined),
      close: async () => undefined,
    }
    const s = setup({ store: hung, limits: { store_timeout: 50 } })
    const t0 = Date.now()
    const r = await s.session().attempt('right')
    assert.equal(r.code, 235)
    assert.ok(Date.now() - t0 < 5000)
    assert.match(s.logs.join('\n'), /no answer within 50 ms/)
  })
})

describe('connect: 421 4.7.0 for a banned address or subnet', () => {
  function connect(s: ReturnType<typeof setup>, ip: string) {
    const c = fixturesConnection({ ip, notes: { [NOTE]: s.store } })
    return new Promise<{ code?: number; msg?: any; c: typeof c }>((resolve) =>
      limit_connect.call(s.plugin, (code?: number, msg?: unknown) => resolve({ code, msg, c }), c),
    )
  }

  test('banned subnet: denysoftdisconnect with a 421 4.7.0 DSN and limit(banned_subnet); others go on', async () => {
    const s = setup({ limits: { exempt_networks: '192.0.2.128/25' } })
    const k = connectKeys(s.limits, '192.0.2.1')
    await s.store.run(
      [{ op: 'set', key: k.banSubnet, value: String(Date.now() + 60_000), ttlMs: 60_000 }],
      Date.now(),
    )
    const banned = await connect(s, '192.0.2.1')
    assert.equal(banned.code, constants.denysoftdisconnect)
    assert.equal(banned.msg.code, 421)
    assert.equal(
      banned.msg.reply,
      '4.7.0 Too many failed authentication attempts from your network, try again later',
    )
    assert.deepEqual(banned.c.results.get('ldap_auth')?.fail, ['limit(banned_subnet)'])
    assert.equal((await connect(s, '192.0.3.1')).code, undefined)
    assert.equal((await connect(s, '192.0.2.200')).code, undefined, 'exempt')
  })
})
