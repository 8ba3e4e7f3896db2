// The operator's limiter commands (lib/limiter/admin) over the memory store with
// a fake clock: bans earned through the policy's own batches are listed,
// released by address, network, key or login, counters shown, and an attempt
// judged without changing anything.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseLimitsConfig, type LimitsConfig } from '../../../lib/limiter/config'
import {
  checkAttempt,
  limiterCommands,
  listBans,
  parseTarget,
  releaseBans,
  showLimits,
} from '../../../lib/limiter/admin'
import { attemptKeys, fingerprint } from '../../../lib/limiter/keys'
import {
  banOps,
  beforeOps,
  failureOps,
  judgeFailure,
  readBefore,
  readFailure,
  successOps,
} from '../../../lib/limiter/policy'
import { MemoryStateStore } from '../../../lib/state/memory'

const T0 = 1_700_000_000_000

function config(main: Record<string, string> = {}): LimitsConfig {
  const p = parseLimitsConfig({
    main: { secret: 'unit-test-secret-0123456789', pair_failures: '3', ip_failures: '5', ...main },
  })
  assert.ok(p.ok, JSON.stringify(!p.ok && p.errors))
  return p.cfg
}

/** One failed attempt as ldap_auth feeds it: before, failure, and the bans it earns. */
async function fail(
  s: MemoryStateStore,
  cfg: LimitsConfig,
  ip: string,
  login: string,
  password: string,
  now: number,
) {
  const k = attemptKeys(cfg, cfg.key, ip, login, password)
  const b = readBefore(await s.run(beforeOps(cfg, k), now), now)
  const counts = readFailure(await s.run(failureOps(cfg, k, b.familiar), now))
  const { bans } = judgeFailure(cfg, k, b, counts, false)
  if (bans.length) await s.run(banOps(cfg, bans, now), now)
  return bans
}

describe('bans', () => {
  test('a pair ban and an address ban are listed with their end and strikes, then released by address', async () => {
    const cfg = config()
    const s = new MemoryStateStore()
    for (let i = 0; i < 3; i++) await fail(s, cfg, '198.51.100.7', 'alice@example.com', `w${i}`, T0 + i)
    for (let i = 0; i < 2; i++) await fail(s, cfg, '198.51.100.7', `u${i}@example.com`, 'x', T0 + 10 + i)
    const bans = await listBans(s, T0 + 100)
    assert.deepEqual(
      bans.map((b) => [b.kind, b.net, b.login, b.strikes]),
      [
        ['pair', '198.51.100.7/32', 'alice@example.com', 1],
        ['ip', '198.51.100.7/32', undefined, 1],
      ],
    )
    assert.equal(bans[0]!.until, T0 + 2 + cfg.ban * 1000)
    const r = await releaseBans(s, cfg, '198.51.100.7', T0 + 100)
    assert.equal(r.released.length, 2)
    assert.deepEqual(await listBans(s, T0 + 101), [])
    // its failures went too: the next failure does not ban again at once
    assert.deepEqual(await fail(s, cfg, '198.51.100.7', 'alice@example.com', 'w9', T0 + 102), [])
    assert.equal((await releaseBans(s, cfg, '198.51.100.7', T0 + 103)).released.length, 0)
  })

  test('an address does not release its subnet ban (reported as still in force); the network does', async () => {
    const cfg = config({ subnet_failures: '2', ip_failures: '0', pair_failures: '0' })
    const s = new MemoryStateStore()
    await fail(s, cfg, '203.0.113.1', 'a@x', 'p', T0)
    await fail(s, cfg, '203.0.113.2', 'b@x', 'p', T0 + 1)
    const r = await releaseBans(s, cfg, '203.0.113.9', T0 + 2)
    assert.deepEqual(r.released, [])
    assert.deepEqual(
      r.still.map((b) => b.net),
      ['203.0.113.0/24'],
    )
    const n = await releaseBans(s, cfg, '203.0.113.0/24', T0 + 3)
    assert.equal(n.released.length, 1)
    assert.deepEqual(await listBans(s, T0 + 4), [])
  })

  test('a key releases that ban; a login releases its pairs and forgets its failures', async () => {
    const cfg = config({ login_failures: '3' })
    const s = new MemoryStateStore()
    for (let i = 0; i < 3; i++) await fail(s, cfg, '192.0.2.10', 'bob@example.com', `w${i}`, T0 + i)
    const [ban] = await listBans(s, T0 + 5)
    assert.equal(ban!.key, 'limit:ban:pair:192.0.2.10/32|bob@example.com')
    const locked = await checkAttempt(s, cfg, { rip: '192.0.2.99', login: 'bob@example.com' }, T0 + 6)
    assert.equal(locked.reason, 'login_locked')
    const r = await releaseBans(s, cfg, 'Bob@Example.com', T0 + 7)
    assert.equal(r.released.length, 1)
    assert.equal(r.login_failures_cleared, true)
    const now = await checkAttempt(s, cfg, { rip: '192.0.2.99', login: 'bob@example.com' }, T0 + 8)
    assert.equal(now.verdict, 'ask')
    for (let i = 0; i < 3; i++) await fail(s, cfg, '192.0.2.11', 'bob@example.com', `v${i}`, T0 + 10 + i)
    const [again] = await listBans(s, T0 + 20)
    assert.equal((await releaseBans(s, cfg, again!.key, T0 + 21)).released.length, 1)
  })

  test('targets: address, IPv6 as its /64, network, key, login; junk is refused', () => {
    const cfg = config()
    assert.deepEqual(parseTarget(cfg, '2001:db8:1:2::5'), {
      kind: 'ip',
      ip: '2001:db8:1:2::5',
      net: '2001:db8:1:2::/64',
      subnet: '2001:db8:1::/48',
    })
    assert.deepEqual(parseTarget(cfg, '10.1.2.3/16'), { kind: 'subnet', net: '10.1.0.0/16' })
    assert.equal(parseTarget(cfg, 'limit:ban:ip:10.0.0.1/32').kind, 'key')
    assert.deepEqual(parseTarget(cfg, ' Alice@EXAMPLE.com '), { kind: 'login', login: 'alice@example.com' })
    assert.throws(() => parseTarget(cfg, ''), /required/)
    assert.throws(() => parseTarget(cfg, 'a\nb'), /not an address/)
    assert.throws(() => parseTarget(cfg, '10.0.0.0/99'), /not a network/)
  })

  test('a network in an odd form is refused, as lib/net parseCidr refuses it, not read as another one', () => {
    const cfg = config()
    // ipaddr.parseCIDR alone made these 10.0.0.0/104 (matching nothing) and 8.0.0.0/8.
    assert.throws(
      () => parseTarget(cfg, '::ffff:10.0.0.0/104'),
      /::ffff:10\.0\.0\.0\/104 is not a network \(CIDR\)/,
    )
    assert.throws(() => parseTarget(cfg, '010.0.0.0/8'), /not a network/)
    assert.throws(() => parseTarget(cfg, '10.1/16'), /not a network/)
  })
})

describe('limits show and the dry-run check', () => {
  test("an address: its failures and its subnet's; a login: its failures and familiar sources", async () => {
    const cfg = config()
    const s = new MemoryStateStore()
    await fail(s, cfg, '198.51.100.20', 'carol@example.com', 'a', T0)
    await fail(s, cfg, '198.51.100.20', 'carol@example.com', 'a', T0 + 1) // the same password: once
    await fail(s, cfg, '198.51.100.21', 'carol@example.com', 'b', T0 + 2)
    const ip = await showLimits(s, cfg, '198.51.100.20', T0 + 3)
    assert.deepEqual(ip.counts, {
      'ip 198.51.100.20/32': { failures: 1, budget: 5 },
      'subnet 198.51.100.0/24': { failures: 2, budget: cfg.subnet_failures },
    })
    const login = await showLimits(s, cfg, 'carol@example.com', T0 + 3)
    assert.deepEqual(login.counts, { 'login carol@example.com': { failures: 2, budget: cfg.login_failures } })
    assert.equal(login.familiar_sources, 0)
  })

  test('the check judges as the gate does and changes nothing; the fingerprint tells a known-wrong password', async () => {
    const cfg = config()
    const s = new MemoryStateStore()
    for (let i = 0; i < 3; i++) await fail(s, cfg, '198.51.100.30', 'dave@example.com', `w${i}`, T0 + i)
    const snapshot = JSON.stringify(await showLimits(s, cfg, 'dave@example.com', T0 + 5))
    const banned = await checkAttempt(s, cfg, { rip: '198.51.100.30', login: 'dave@example.com' }, T0 + 5)
    assert.equal(banned.verdict, 'refuse')
    assert.equal(banned.reason, 'banned_pair')
    assert.equal(banned.reply?.code, 454)
    assert.equal(banned.known_wrong, null)
    const fp = fingerprint(cfg.key, 'dave@example.com', 'w1')
    const wrong = await checkAttempt(
      s,
      cfg,
      { rip: '198.51.100.31', login: 'dave@example.com', fingerprint: fp },
      T0 + 6,
    )
    assert.equal(wrong.verdict, 'shield')
    assert.equal(wrong.known_wrong, true)
    const right = fingerprint(cfg.key, 'dave@example.com', 'right')
    const ok = await checkAttempt(s, cfg, { login: 'dave@example.com', fingerprint: right }, T0 + 7)
    assert.deepEqual([ok.verdict, ok.rip, ok.known_wrong], ['ask', null, false])
    assert.equal(JSON.stringify(await showLimits(s, cfg, 'dave@example.com', T0 + 5)), snapshot)
    assert.deepEqual(await checkAttempt(s, config({ enabled: 'false' }), { login: 'x' }, T0), {
      enabled: false,
      rip: null,
    })
    await assert.rejects(checkAttempt(s, cfg, { rip: 'nope', login: 'x' }, T0), /not an address/)
  })

  test('the socket commands', async () => {
    const s = new MemoryStateStore()
    const cmds = limiterCommands(
      () => s,
      () => config(),
      () => T0,
    )
    assert.deepEqual([...cmds.keys()], ['bans.list', 'bans.release', 'limits.show', 'limits.check'])
    assert.deepEqual(await cmds.get('bans.list')!({}), { enabled: true, bans: [] })
    await assert.rejects(cmds.get('bans.release')!({}), /required/)
    const none = limiterCommands(
      () => s,
      () => undefined,
    )
    await assert.rejects(none.get('bans.list')!({}), /not loaded/)
  })
})

// With no secret in auth_limits.ini and store=redis, ldap_auth keys its HMACs (familiar sources,
// fingerprints) with the secret kept in Redis, not auth_limits.ini's per-process random key: the
// check must use the key the attempts are counted with, or a familiar source reads unfamiliar.
describe('the check uses the key the attempts use', () => {
  test('a source made familiar under the cluster key is familiar to limits.check', async () => {
    const cfg = config({ secret: '' })
    assert.ok(cfg.randomKey)
    const cluster = Buffer.from('the secret kept in redis, 32 bytes')
    const s = new MemoryStateStore()
    const k = attemptKeys(cfg, cluster, '203.0.113.5', 'erin@example.com', 'right')
    const b = readBefore(await s.run(beforeOps(cfg, k), T0), T0)
    await s.run(successOps(cfg, k, b, T0).ops, T0)
    const cmds = limiterCommands(
      () => s,
      () => cfg,
      () => T0 + 1,
      (c) => (c.randomKey ? cluster : c.key),
    )
    const check = (await cmds.get('limits.check')!({ rip: '203.0.113.5', login: 'erin@example.com' })) as {
      familiar: boolean
    }
    assert.equal(check.familiar, true)
  })
})
