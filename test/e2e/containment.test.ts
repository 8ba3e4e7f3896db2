// Containment on real Haraka and slapd, with small budgets: a login crossing
// each budget gets the documented reply at RCPT and then at MAIL, other logins
// are untouched, `haraka-ldap suspended release` (through the admin socket of
// the running Haraka) lets it send again, and `haraka-ldap suspend` blocks relay
// entirely. messages_per_day is the same path as messages_per_minute with a
// longer window (each is crossed in test/hooks/auth_relay_contain.test.ts).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ALICE, BOB, message, startStack, waitForLog, type Stack, expectReply } from '../harness/stack'
import { REPO } from '../harness/paths'

const CLI = path.join(REPO, 'dist/bin/haraka-ldap.js')

let stack: Stack
before(async () => {
  stack = await startStack({
    ini: {
      'auth_relay.ini': {
        main: {
          verify_recipients: 'true',
          contain_messages_per_minute: '3',
          contain_messages_per_day: '1000',
          contain_recipients_per_day: '6',
          contain_external_recipients_per_day: '4',
          contain_external_domains_per_day: '2',
          contain_refused_recipients_per_day: '2',
          contain_suspend_on: 'external_domains_per_day',
        },
      },
    },
  })
})
after(async () => {
  await stack?.stop()
})

function cli(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args, '--config', path.join(stack.haraka.dir, 'config')], {
    encoding: 'utf8',
    timeout: 15_000,
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

async function loggedIn(who: { login: string; password: string }) {
  const c = await stack.submission()
  expectReply(await c.authPlain(who.login, who.password), 235)
  return c
}

function release(login: string) {
  const r = cli('suspended', 'release', login, '--json')
  assert.equal(r.code, 0, r.out + r.err)
  return JSON.parse(r.out) as { released: boolean; deferred: boolean; suspension: { rule: string } | null }
}

describe('containment', () => {
  test('messages_per_minute: the 4th message gets 451 4.7.1, then MAIL; bob untouched; release', async () => {
    const c = await loggedIn(ALICE)
    for (let i = 0; i < 3; i++) {
      expectReply(await c.mailFrom(ALICE.login), 250)
      expectReply(await c.rcptTo('bob@example.com'), 250)
      expectReply(await c.data(message({ from: ALICE.login, to: 'bob@example.com' })), 250)
    }
    expectReply(await c.mailFrom(ALICE.login), 250)
    expectReply(
      await c.rcptTo('bob@example.com'),
      451,
      '4.7.1',
      /Sending limit reached \(messages_per_minute\), try again later/,
    )
    await c.send('RSET')
    expectReply(await c.mailFrom(ALICE.login), 451, '4.7.1', /messages_per_minute/)
    await waitForLog(
      stack.haraka,
      /"alice@example.com" deferred: messages_per_minute: 4 messages in 1 min, limit 3 \(keys login=alice@example.com /,
    )
    const b = await loggedIn(BOB)
    expectReply(await b.mailFrom(BOB.login), 250)
    expectReply(await b.rcptTo('friend@remote.example'), 250)
    const r = release(ALICE.login)
    assert.equal(r.deferred, true)
    expectReply(await c.mailFrom(ALICE.login), 250)
  })

  test('recipients_per_day: the 7th recipient', async () => {
    const c = await loggedIn(ALICE)
    expectReply(await c.mailFrom(ALICE.login), 250)
    for (const to of ['bob', 'carol', 'alice', 'bob', 'carol', 'alice'])
      expectReply(await c.rcptTo(`${to}@example.com`), 250)
    expectReply(await c.rcptTo('bob@example.com'), 451, '4.7.1', /\(recipients_per_day\)/)
    release(ALICE.login)
  })

  test('external_recipients_per_day: the 5th distinct external address (a repeat is one)', async () => {
    const c = await loggedIn(ALICE)
    expectReply(await c.mailFrom(ALICE.login), 250)
    for (const to of ['a', 'b', 'b', 'c', 'd']) expectReply(await c.rcptTo(`${to}@one.example`), 250)
    expectReply(await c.rcptTo('e@one.example'), 451, '4.7.1', /\(external_recipients_per_day\)/)
    release(ALICE.login)
  })

  test('external_domains_per_day suspends: 550 5.7.1 at RCPT and every MAIL, listed, until released', async () => {
    const c = await loggedIn(ALICE)
    expectReply(await c.mailFrom(ALICE.login), 250)
    expectReply(await c.rcptTo('x@one.example'), 250)
    expectReply(await c.rcptTo('x@two.example'), 250)
    expectReply(
      await c.rcptTo('x@three.example'),
      550,
      '5.7.1',
      /Sending suspended for this login \(external_domains_per_day\), contact your administrator/,
    )
    const again = await loggedIn(ALICE)
    expectReply(await again.mailFrom(ALICE.login), 550, '5.7.1', /external_domains_per_day/)
    const list = cli('suspended', 'list', '--json')
    assert.equal(list.code, 0, list.err)
    const doc = JSON.parse(list.out) as {
      suspended: Array<{ login: string; rule: string; reason: string; since: number }>
    }
    assert.deepEqual(
      doc.suspended.map((s) => [s.login, s.rule, s.reason]),
      [
        [
          'alice@example.com',
          'external_domains_per_day',
          'external_domains_per_day: 3 distinct external recipient domains in 24 h, limit 2',
        ],
      ],
    )
    assert.ok(Math.abs(Date.now() - doc.suspended[0]!.since) < 60_000)
    const text = cli('suspended', 'list')
    assert.match(
      text.out,
      /^alice@example\.com +\S+Z +external_domains_per_day +external_domains_per_day: 3 /m,
    )
    const r = release(ALICE.login)
    assert.equal(r.suspension?.rule, 'external_domains_per_day')
    expectReply(await again.mailFrom(ALICE.login), 250)
    expectReply(await again.rcptTo('x@four.example'), 250)
  })

  test('refused_recipients_per_day: unknown local users (550 5.1.1) count; the next MAIL is deferred', async () => {
    const c = await loggedIn(ALICE)
    expectReply(await c.mailFrom(ALICE.login), 250)
    for (const n of [1, 2, 3]) expectReply(await c.rcptTo(`nobody${n}@example.com`), 550, '5.1.1')
    await c.send('RSET')
    expectReply(await c.mailFrom(ALICE.login), 451, '4.7.1', /\(refused_recipients_per_day\)/)
    release(ALICE.login)
  })

  test('the operator suspends bob: no relay at all, local mail neither; alice untouched; release', async () => {
    const s = cli('suspend', BOB.login, '--reason', 'password seen on a paste site')
    assert.equal(s.code, 0, s.out + s.err)
    assert.match(s.out, /^bob@example\.com suspended: password seen on a paste site$/m)
    const b = await loggedIn(BOB)
    expectReply(await b.mailFrom(BOB.login), 550, '5.7.1', /Sending suspended for this login \(operator\)/)
    await waitForLog(stack.haraka, /suspended since \S+ by operator: password seen on a paste site/)
    const a = await loggedIn(ALICE)
    expectReply(await a.mailFrom(ALICE.login), 250)
    expectReply(await a.rcptTo('bob@example.com'), 250)
    const r = release(BOB.login)
    assert.equal(r.suspension?.rule, 'operator')
    expectReply(await b.mailFrom(BOB.login), 250)
    expectReply(await b.rcptTo('alice@example.com'), 250)
    const none = cli('suspended', 'release', BOB.login)
    assert.equal(none.code, 1)
  })
})

describe('containment with two Haraka workers (nodes=2, memory store each)', () => {
  let two: Stack
  before(async () => {
    two = await startStack({ ini: { 'smtp.ini': { main: { nodes: '2' } } } })
  })
  after(async () => {
    await two?.stop()
  })
  const cliOn = (s: Stack, ...args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args, '--config', path.join(s.haraka.dir, 'config')], {
      encoding: 'utf8',
      timeout: 15_000,
    })

  test('each worker serves its socket; suspend and release reach both', async () => {
    // both workers have started their sockets with containment's commands (auth_relay's init_child;
    // ldap_auth logs its own line for the same socket, so count distinct processes)
    const workers = () =>
      new Set(
        [
          ...two.haraka.logs().matchAll(/admin socket \S*haraka-ldap\.(\d+)\.sock \(haraka-ldap suspended/g),
        ].map((m) => m[1]),
      ).size
    const deadline = Date.now() + 15_000
    while (workers() < 2) {
      assert.ok(
        Date.now() < deadline,
        `two workers did not start their admin sockets:\n${two.haraka.logs().slice(-2000)}`,
      )
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const s = cliOn(two, 'suspend', BOB.login, '--json')
    assert.equal(s.status, 0, s.stdout + s.stderr)
    const doc = JSON.parse(s.stdout) as { processes: Array<{ answered: boolean }> }
    assert.deepEqual(
      doc.processes.map((p) => p.answered),
      [true, true],
    )
    // whichever worker takes the connection, bob is refused
    for (let i = 0; i < 4; i++) {
      const c = await two.submission()
      expectReply(await c.authPlain(BOB.login, BOB.password), 235)
      expectReply(await c.mailFrom(BOB.login), 550, '5.7.1', /\(operator\)/)
      c.close()
    }
    const r = cliOn(two, 'suspended', 'release', BOB.login)
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /\(2 of 2 Haraka processes answered\)/)
    const c = await two.submission()
    expectReply(await c.authPlain(BOB.login, BOB.password), 235)
    expectReply(await c.mailFrom(BOB.login), 250)
  })
})
