// haraka-ldap bans / limits / cache and test's dry run against a running Haraka
// (one process, its memory store, the admin socket ldap_auth serves) and a real
// slapd: a ban earned by real failed AUTHs is listed, shown, and released (the
// address can connect again); `test --rip` of a banned address sends no BIND
// (slapd's log); a cache flush makes the next AUTH ask the directory again; the
// JSON shapes and exit codes; Haraka unreachable is exit 2 with the reason.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Reply } from '../../demo/smtp_client'
import { REPO } from '../harness/paths'
import { ALICE, BOB, startStack, type Stack, bindsOf, greetingFrom } from '../harness/stack'

const CLI = path.join(REPO, 'dist/bin/haraka-ldap.js')

let stack: Stack
let scratch: string

before(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'cli-limits-'))
  stack = await startStack({
    ini: {
      'auth_limits.ini': {
        main: {
          enabled: 'true',
          secret: 'e2e-cli-secret-of-sixteen-or-more',
          ip_failures: '4',
          pair_failures: '10',
          login_failures: '20',
          delay: '0',
          ban: '120',
        },
      },
    },
    files: {
      'ldap_auth.ini': '[main]\nfailure_delay=0\nmax_failures=50\ncache_ttl=300\nnegative_cache_ttl=0\n',
    },
  })
})
after(async () => {
  await stack?.stop()
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

function cli(args: string[], opts: { input?: string; config?: string } = {}) {
  const config = opts.config ?? path.join(stack.haraka.dir, 'config')
  const r = spawnSync(process.execPath, [CLI, ...args, '--config', config], {
    encoding: 'utf8',
    timeout: 20_000,
    input: opts.input ?? '',
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

function json<T>(r: { out: string; err: string }): T {
  try {
    return JSON.parse(r.out) as T
  } catch {
    throw new Error(`not JSON: ${r.out} ${r.err}`)
  }
}

async function auth(from: string, login: string, password: string): Promise<Reply> {
  const c = await stack.submission(from)
  try {
    return await c.authPlain(login, password)
  } finally {
    c.close()
  }
}

interface Ban {
  kind: string
  key: string
  net: string
  login?: string
  until: number
  strikes: number
}

describe('bans and limits', () => {
  const ip = '127.0.9.1'

  test('a ban earned by real failed AUTHs: listed, shown, refused by test without a BIND, released', async () => {
    for (let i = 0; i < 4; i++)
      assert.equal((await auth(ip, `nobody${i}@example.com`, 'Winter2025!')).code, 535)
    assert.equal((await greetingFrom(stack, ip)).code, 421)

    const list = cli(['bans', 'list', '--json'])
    assert.equal(list.code, 0, list.err)
    const listed = json<{ enabled: boolean; bans: Ban[]; processes: { pid: number; answered: boolean }[] }>(
      list,
    )
    assert.equal(listed.enabled, true)
    const ban = listed.bans.find((b) => b.kind === 'ip' && b.net === `${ip}/32`)
    assert.ok(ban, list.out)
    assert.equal(ban.key, `limit:ban:ip:${ip}/32`)
    assert.equal(ban.strikes, 1)
    assert.ok(ban.until > Date.now() + 100_000 && ban.until <= Date.now() + 120_000)
    assert.deepEqual(
      listed.processes.map((p) => p.answered),
      [true],
    )
    assert.match(cli(['bans', 'list']).out, new RegExp(`ip\\s+${ip.replace(/\./g, '\\.')}/32`))

    const show = cli(['limits', 'show', ip, '--json'])
    assert.equal(show.code, 0, show.err)
    const shown = json<{ counts: Record<string, { failures: number; budget: number }>; bans: Ban[] }>(show)
    assert.deepEqual(shown.counts[`ip ${ip}/32`], { failures: 4, budget: 4 })
    assert.equal(shown.bans[0]!.key, ban.key)

    // test --rip of the banned address: the limiter would refuse, so no bind is sent
    const before = bindsOf(stack, ALICE.uid)
    const t = cli(['test', ALICE.login, '--rip', ip, '--json'], { input: `${ALICE.password}\n` })
    assert.equal(t.code, 1, t.out + t.err)
    const report = json<{
      decision: { rule: string; reason: string }
      reply: { code: number; enh: string }
      steps: unknown[]
      limiter: { state: string; verdict: string; fingerprint: string; known_wrong: boolean }
    }>(t)
    assert.deepEqual([report.decision.rule, report.decision.reason], ['limit', 'banned_ip'])
    assert.deepEqual([report.reply.code, report.reply.enh], [454, '4.7.0'])
    assert.deepEqual(report.steps, [])
    assert.deepEqual(
      [report.limiter.state, report.limiter.verdict, report.limiter.fingerprint, report.limiter.known_wrong],
      ['known', 'refuse', 'sent', false],
    )
    assert.equal(bindsOf(stack, ALICE.uid), before, 'no BIND reached slapd')
    assert.doesNotMatch(t.out + t.err, new RegExp(ALICE.password))

    const rel = cli(['bans', 'release', ip, '--json'])
    assert.equal(rel.code, 0, rel.err)
    const released = json<{ released: Ban[]; still: Ban[] }>(rel)
    assert.deepEqual(
      released.released.map((b) => b.key),
      [ban.key],
    )
    assert.equal((await greetingFrom(stack, ip)).code, 220)
    assert.equal((await auth(ip, BOB.login, BOB.password)).code, 235)
    const again = cli(['bans', 'release', ip])
    assert.equal(again.code, 1)
    assert.match(again.out, /no ban was in force/)
  })

  test('test --rip of a clean address: the limiter would ask, the bind is sent, nothing is counted', async () => {
    const from = '127.0.9.2'
    const before = bindsOf(stack, ALICE.uid)
    const t = cli(['test', ALICE.login, '--rip', from, '--json'], { input: `${ALICE.password}\n` })
    assert.equal(t.code, 0, t.out + t.err)
    const report = json<{
      decision: { verdict: string }
      limiter: { verdict: string; counts: { ip: number } }
    }>(t)
    assert.equal(report.decision.verdict, 'pass')
    assert.deepEqual([report.limiter.verdict, report.limiter.counts.ip], ['ask', 0])
    assert.equal(bindsOf(stack, ALICE.uid), before + 1)
    // a wrong password through test counts nothing in Haraka
    cli(['test', ALICE.login, '--rip', from], { input: 'not-the-password\n' })
    const shown = json<{ counts: Record<string, { failures: number }> }>(
      cli(['limits', 'show', from, '--json']),
    )
    assert.equal(shown.counts[`ip ${from}/32`]!.failures, 0)
  })

  test("limits show <login>: the limiter's counts and containment's budgets", async () => {
    const r = cli(['limits', 'show', BOB.login, '--json'])
    assert.equal(r.code, 0, r.err)
    const shown = json<{
      counts: Record<string, { failures: number }>
      familiar_sources: number
      containment: {
        mode: string
        budgets: { budget: string; count: number; limit: number }[]
        suspension: null
      }
    }>(r)
    assert.ok(`login ${BOB.login}` in shown.counts)
    assert.ok(shown.familiar_sources >= 1, 'bob logged in above')
    assert.equal(shown.containment.mode, 'enforce')
    assert.ok(shown.containment.budgets.some((b) => b.budget === 'messages_per_minute' && b.limit === 30))
    assert.equal(shown.containment.suspension, null)
    assert.match(
      cli(['limits', 'show', BOB.login]).out,
      /containment \(enforce\):\n {2}messages_per_minute: 0 of 30 in 1 min/,
    )
  })
})

describe('cache flush', () => {
  test('the next AUTH after a flush asks the directory again (slapd BIND count)', async () => {
    const from = '127.0.10.1'
    const b0 = bindsOf(stack, ALICE.uid)
    assert.equal((await auth(from, ALICE.login, ALICE.password)).code, 235)
    assert.equal((await auth(from, ALICE.login, ALICE.password)).code, 235)
    assert.equal(bindsOf(stack, ALICE.uid), b0 + 1, 'the second AUTH was a cache hit')
    const r = cli(['cache', 'flush', ALICE.login, '--json'])
    assert.equal(r.code, 0, r.err)
    assert.deepEqual(json<{ login: string; removed: unknown }>(r).removed, { positive: 1, negative: 0 })
    assert.equal((await auth(from, ALICE.login, ALICE.password)).code, 235)
    assert.equal(bindsOf(stack, ALICE.uid), b0 + 2, 'the AUTH after the flush sent a BIND')
    const none = cli(['cache', 'flush', 'nobody@example.com'])
    assert.equal(none.code, 1)
    assert.match(none.out, /0 entries removed/)
  })
})

describe('usage and reachability', () => {
  test('usage errors are exit 2; Haraka unreachable is exit 2 with the reason, and test says limiter state unknown', () => {
    assert.equal(cli(['bans', 'frob']).code, 2)
    assert.equal(cli(['limits', 'show']).code, 2)
    assert.equal(cli(['test', ALICE.login, '--rip', 'not-an-ip'], { input: 'x\n' }).code, 2)
    const config = path.join(scratch, 'config')
    cpSync(path.join(stack.haraka.dir, 'config'), config, { recursive: true })
    const relay = path.join(config, 'auth_relay.ini')
    let text = ''
    try {
      text = readFileSync(relay, 'utf8')
    } catch {
      // no auth_relay.ini: the defaults
    }
    writeFileSync(relay, `admin_socket_dir=${path.join(scratch, 'no-sockets')}\n${text}`)
    const r = cli(['bans', 'list', '--json'], { config })
    assert.equal(r.code, 2)
    assert.match(json<{ error: string }>(r).error, /no Haraka process serves an admin socket/)
    const t = cli(['test', BOB.login, '--json'], { config, input: `${BOB.password}\n` })
    assert.equal(t.code, 0, t.out + t.err)
    const report = json<{ limiter: { state: string; reason: string }; decision: { verdict: string } }>(t)
    assert.equal(report.limiter.state, 'unknown')
    assert.match(report.limiter.reason, /no Haraka process/)
    assert.equal(report.decision.verdict, 'pass')
  })
})
