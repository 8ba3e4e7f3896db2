// One view across a cluster (issue 12 §3): two Haraka processes, A and B, with
// shared_state.ini store=redis in front of one slapd and one redis-server. Both
// start while Redis is down (haraka-plugin-redis would shut Haraka down after its
// init hook timed out) and connect by themselves when it comes up; a ban earned on
// A is enforced on B at once at AUTH (454: B's gate reads Redis), and within 100 ms
// at connect (421: B's copy of the bans, refreshed every 50 ms); with Redis stopped, then hung (SIGSTOP), AUTH is still
// answered within its bound from each process's own memory, nothing crashes, one
// warning per change, and the shared view comes back with Redis. A suspension made
// with the CLI through one process holds on the other.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { SmtpClient, type Reply } from '../../demo/smtp_client'
import { startHaraka, type HarakaInstance } from '../harness/haraka'
import { REPO } from '../harness/paths'
import { startRedis, type RedisServer } from '../harness/redis'
import { startSlapd, type Slapd } from '../harness/slapd'
import { ALICE, BOB, DEMO_LDIF } from '../harness/stack'

/** The limiter (config/auth_limits.ini) is what makes the shared state visible from outside. */
const LIMITER = existsSync(path.join(REPO, 'config/auth_limits.ini'))

const TIMEOUT_MS = 250
const LIMITS = [
  '[main]',
  'enabled=true',
  // no secret: the key kept in Redis, the same for both processes
  'window=120',
  'ip_failures=4',
  'subnet_failures=1000',
  'pair_failures=2',
  'login_failures=100',
  'delay_after=100',
  'ban=60',
].join('\n')

let slapd: Slapd
let redis: RedisServer
let a: HarakaInstance
let b: HarakaInstance

before(async () => {
  if (!LIMITER) return
  slapd = await startSlapd({ ldif: [DEMO_LDIF] })
  redis = await startRedis()
  await redis.stop()
  const files = {
    'shared_state.ini': `[main]\nstore=redis\ntimeout_ms=${TIMEOUT_MS}\nretry_ms=200\n`,
    'redis.ini': `[server]\nhost=127.0.0.1\nport=${redis.port}\n`,
    'auth_limits.ini': LIMITS,
    'ldap_auth.ini': '[main]\nfailure_delay=0\nmax_failures=50\n',
  }
  // Redis is down while both start: neither waits for it.
  a = await startHaraka({ ldapUrl: slapd.url, files })
  b = await startHaraka({ ldapUrl: slapd.url, files })
})
after(async () => {
  await a?.stop()
  await b?.stop()
  await redis?.dispose()
  await slapd?.dispose()
})

// (SmtpClient's localAddress comes with the limiter: options as a variable type-check before it.)
async function submission(h: HarakaInstance, from: string): Promise<SmtpClient> {
  const opts = {
    host: h.host,
    port: h.ports.submission,
    ca: h.caCert,
    servername: 'mail.example.com',
    localAddress: from,
  }
  const c = await SmtpClient.connect(opts)
  if (c.greeting.code !== 220) return c
  await c.ehlo('client.example.net')
  await c.starttls()
  await c.ehlo('client.example.net')
  return c
}

/** One AUTH PLAIN on a fresh connection from `from`: the reply and how long the AUTH command took. */
async function auth(h: HarakaInstance, from: string, login: string, password: string) {
  const c = await submission(h, from)
  try {
    if (c.greeting.code !== 220) return { ...c.greeting, ms: 0 }
    const t0 = Date.now()
    const r = await c.authPlain(login, password)
    return { ...r, ms: Date.now() - t0 }
  } finally {
    c.close()
  }
}

async function greeting(h: HarakaInstance, from: string): Promise<Reply> {
  const opts = { host: h.host, port: h.ports.submission, localAddress: from }
  const c = await SmtpClient.connect(opts)
  c.close()
  return c.greeting
}

const count = (h: HarakaInstance, re: RegExp) => (h.logs().match(new RegExp(re, 'g')) ?? []).length
const UP = /shared_state: redis:\/\/127\.0\.0\.1:\d+ answers again/
const DOWN = /shared_state: redis:\/\/127\.0\.0\.1:\d+ unavailable/

/** AUTH on h until its store has said Redis answers again (`seen` such lines before), at most 15 s. */
async function untilShared(h: HarakaInstance, seen: number): Promise<void> {
  const deadline = Date.now() + 15_000
  while (count(h, UP) <= seen) {
    if (Date.now() > deadline)
      throw new Error(`still not shared:\n${h.logs().split('\n').slice(-20).join('\n')}`)
    assert.equal((await auth(h, '127.0.0.1', ALICE.login, ALICE.password)).code, 235)
    await sleep(100)
  }
}

/** Four distinct wrong guesses from `ip` on `h`: the address is then banned (ip_failures=4). */
async function earnBan(h: HarakaInstance, ip: string): Promise<void> {
  const codes = []
  for (let i = 0; i < 4; i++) codes.push((await auth(h, ip, `nobody${i}@example.com`, `guess-${i}`)).code)
  assert.deepEqual(codes, [535, 535, 535, 535])
}

/**
 * The ban earned on `from` holds on `to`: at once at AUTH, on a session `to` opened before
 * the ban (its gate reads the shared store); at connect as soon as `to`'s copy of the bans
 * has it. How long after the last guess `to` first refused a connection (tried every 5 ms).
 */
async function banCrosses(from: HarakaInstance, to: HarakaInstance, ip: string): Promise<number> {
  assert.equal((await greeting(to, ip)).code, 220, 'not banned before')
  const open = await submission(to, ip)
  try {
    await earnBan(from, ip)
    const t0 = Date.now()
    const r = await open.authPlain(ALICE.login, ALICE.password)
    assert.deepEqual([r.code, r.enhanced], [454, '4.7.0'], 'at AUTH: refused at once')
    let g = await greeting(to, ip)
    while (g.code === 220 && Date.now() - t0 < 3000) {
      await sleep(5)
      g = await greeting(to, ip)
    }
    const ms = Date.now() - t0
    assert.deepEqual([g.code, g.enhanced], [421, '4.7.0'], g.lines.join(' | '))
    return ms
  } finally {
    open.close()
  }
}

describe('store=redis, on_failure=closed', { skip: !LIMITER && 'needs the AUTH limiter' }, () => {
  test('Haraka starts while Redis is down and says where its state is; AUTH gets 454 without the directory until Redis answers', async () => {
    const s = await startSlapd({ ldif: [DEMO_LDIF] })
    const r = await startRedis()
    await r.stop()
    const h = await startHaraka({
      ldapUrl: s.url,
      files: {
        'shared_state.ini': '[main]\nstore=redis\nprefix=e2e:\non_failure=closed\n',
        'auth_limits.ini': '[main]\nenabled=true\n',
        'redis.ini': `[server]\nhost=127.0.0.1\nport=${r.port}\n[opts]\npassword=not-in-the-log\n`,
      },
    })
    const binds = () => (s.logTail(5_000_000).match(/BIND dn="uid=alice,/g) ?? []).length
    try {
      assert.match(
        h.logs(),
        new RegExp(`abuse-limit state in redis at redis://127\\.0\\.0\\.1:${r.port} \\(prefix e2e:\\)`),
      )
      assert.doesNotMatch(h.logs(), /not-in-the-log/)
      const before = binds()
      const refused = await auth(h, '127.0.0.1', ALICE.login, ALICE.password)
      assert.deepEqual([refused.code, refused.enhanced], [454, '4.7.0'])
      assert.equal(binds(), before, 'the directory was not asked')
      await r.start()
      const deadline = Date.now() + 15_000
      let code = 0
      while (code !== 235 && Date.now() < deadline) {
        await sleep(100)
        code = (await auth(h, '127.0.0.1', ALICE.login, ALICE.password)).code
      }
      assert.equal(code, 235, 'Redis back: AUTH as usual')
    } finally {
      await h.stop()
      await r.dispose()
      await s.dispose()
    }
  })
})

const CLI = path.join(REPO, 'dist/bin/haraka-ldap.js')

function cli(h: HarakaInstance, ...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args, '--config', path.join(h.dir, 'config')], {
    encoding: 'utf8',
    timeout: 15_000,
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

/** The reply to MAIL FROM after AUTH as `who` on `h`. */
async function mailFrom(h: HarakaInstance, who: { login: string; password: string }) {
  const c = await submission(h, '127.0.0.1')
  try {
    assert.equal((await c.authPlain(who.login, who.password)).code, 235)
    const r = await c.mailFrom(who.login)
    return [r.code, r.enhanced]
  } finally {
    c.close()
  }
}

const alive = (h: HarakaInstance) => !h.logs().includes('[harness] haraka exited')

describe(
  'two Haraka processes sharing one redis-server',
  { skip: !LIMITER && 'needs the AUTH limiter' },
  () => {
    test('started while Redis was down: AUTH answered at once from memory, one warning each', async () => {
      const r = await auth(a, '127.0.0.1', ALICE.login, ALICE.password)
      assert.equal(r.code, 235)
      assert.ok(r.ms < TIMEOUT_MS + 1000, `AUTH took ${r.ms} ms`)
      await auth(a, '127.0.0.1', ALICE.login, ALICE.password)
      assert.equal(count(a, DOWN), 1, 'one warning for the outage, not one per AUTH')
      assert.match(a.logs(), /unavailable \(not connected\): counting in this process's memory/)
    })

    test('Redis comes up: both connect by themselves; a ban earned on A is enforced on B within 100 ms', async () => {
      await redis.start()
      await untilShared(a, 0)
      await untilShared(b, 0)
      const ms = await banCrosses(a, b, '127.0.31.1')
      assert.ok(ms < 100, `B refused ${ms} ms after A's ban`)
      // and the other way round
      await banCrosses(b, a, '127.0.31.2')
    })

    test('one password fingerprint for both (no secret set: the key in Redis): a stale password retried on A and B does not ban, different ones do', async () => {
      const ip = '127.0.34.1'
      const stale = []
      for (let i = 0; i < 6; i++) stale.push((await auth(i % 2 ? b : a, ip, BOB.login, 'old-password')).code)
      assert.deepEqual(stale, [535, 535, 535, 535, 535, 535])
      // (with a key per process the stale password would be two fingerprints: the pair banned at the 3rd)
      const different = []
      for (let i = 0; i < 3; i++)
        different.push((await auth(i % 2 ? b : a, '127.0.34.2', ALICE.login, `guess-${i}`)).code)
      assert.deepEqual(
        different,
        [535, 535, 454],
        'pair_failures=2 distinct passwords, counted across A and B',
      )
    })

    test('a suspension made with haraka-ldap through A holds on B; released through B, A lets the login send again', async () => {
      const s = cli(a, 'suspend', BOB.login, '--reason', 'cluster e2e')
      assert.equal(s.code, 0, s.out + s.err)
      assert.deepEqual(await mailFrom(b, BOB), [550, '5.7.1'])
      assert.deepEqual(await mailFrom(a, BOB), [550, '5.7.1'])
      assert.deepEqual(await mailFrom(b, ALICE), [250, undefined], 'another login is untouched')
      const list = cli(b, 'suspended', 'list', '--json')
      assert.equal(list.code, 0, list.out + list.err)
      assert.deepEqual(
        (JSON.parse(list.out) as { suspended: Array<{ login: string; reason: string }> }).suspended.map(
          (x) => [x.login, x.reason],
        ),
        [[BOB.login, 'cluster e2e']],
        'listed through B',
      )
      const r = cli(b, 'suspended', 'release', BOB.login)
      assert.equal(r.code, 0, r.out + r.err)
      assert.deepEqual(await mailFrom(a, BOB), [250, undefined])
    })

    test('Redis stopped: AUTH still answered within its bound, no crash; it returns: shared again', async () => {
      const downA = count(a, DOWN)
      const upA = count(a, UP)
      const upB = count(b, UP)
      await redis.stop()
      for (let i = 0; i < 3; i++) {
        const r = await auth(a, '127.0.0.1', ALICE.login, ALICE.password)
        assert.equal(r.code, 235)
        assert.ok(r.ms < TIMEOUT_MS + 1000, `AUTH took ${r.ms} ms with Redis stopped`)
      }
      assert.equal(count(a, DOWN), downA + 1)
      // Per process meanwhile: a ban earned on A holds on A, not on B.
      await earnBan(a, '127.0.32.1')
      assert.equal((await greeting(a, '127.0.32.1')).code, 421)
      assert.equal((await greeting(b, '127.0.32.1')).code, 220)
      await redis.start()
      await untilShared(a, upA)
      await untilShared(b, upB)
      assert.ok(alive(a) && alive(b))
      assert.ok((await banCrosses(a, b, '127.0.32.2')) < 1000)
    })

    test('Redis hung (SIGSTOP): AUTH answered within timeout_ms plus the usual, no crash; SIGCONT: shared again', async () => {
      const upA = count(a, UP)
      redis.signal('SIGSTOP')
      try {
        for (let i = 0; i < 4; i++) {
          const r = await auth(a, '127.0.0.1', ALICE.login, ALICE.password)
          assert.equal(r.code, 235)
          assert.ok(r.ms < TIMEOUT_MS * 2 + 1000, `AUTH took ${r.ms} ms with Redis hung`)
        }
        assert.match(a.logs(), /unavailable \(no answer within 250 ms\)/)
      } finally {
        redis.signal('SIGCONT')
      }
      await untilShared(a, upA)
      assert.ok(alive(a) && alive(b))
      assert.ok((await banCrosses(b, a, '127.0.33.1')) < 1000)
    })
  },
)
