// The AUTH limiter (auth_limits.ini) end to end, one Haraka process on its
// per-process store, in front of a real slapd: guesses over fresh connections
// from one address, spraying, one login from a whole /24, a distributed attack
// on one login while its owner keeps working, stale versus different passwords,
// and the directory shield counted in slapd's own log. Clients come from
// different loopback addresses (127.x.y.z, all of 127/8 is loopback on Linux),
// one range per scenario so that they do not share keys.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Reply } from '../../demo/smtp_client'
import { ALICE, BOB, startStack, waitForLog, type Stack, bindsOf, greetingFrom } from '../harness/stack'

let stack: Stack
let ldifDir: string

// Small numbers keep the file fast; the shapes are the defaults'.
const LIMITS = {
  enabled: 'true',
  secret: 'e2e-secret-of-sixteen-or-more',
  window: '120',
  ip_failures: '6',
  subnet_failures: '1000',
  pair_failures: '4',
  login_failures: '6',
  familiar_failures: '20',
  delay_after: '2',
  delay: '500',
  delay_max: '2000',
  ban: '60',
}

/** Users of their own per scenario, so that one scenario's login key does not touch another's. */
const USERS = ['stale', 'shield', 'owner', 'subnet'].map((uid) => ({
  uid,
  login: `${uid}@example.com`,
  password: `right-${uid}-password`,
}))
const [STALE, SHIELD, OWNER, SUBNET] = USERS as [
  (typeof USERS)[0],
  (typeof USERS)[0],
  (typeof USERS)[0],
  (typeof USERS)[0],
]

before(async () => {
  ldifDir = mkdtempSync(path.join(tmpdir(), 'limits-ldif-'))
  const ldif = USERS.map(
    (u) =>
      `dn: uid=${u.uid},ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: ${u.uid}\ncn: ${u.uid}\nsn: ${u.uid}\nmail: ${u.login}\nuserPassword: ${u.password}\n`,
  ).join('\n')
  writeFileSync(path.join(ldifDir, 'limits.ldif'), ldif)
  stack = await startStack({
    ldif: [path.join(ldifDir, 'limits.ldif')],
    ini: { 'auth_limits.ini': { main: LIMITS } },
    // No per-session delay, and room for many attempts per session: what is measured is the limiter's.
    files: { 'ldap_auth.ini': '[main]\nfailure_delay=0\nmax_failures=50\n' },
  })
})
after(async () => {
  await stack?.stop()
  if (ldifDir) rmSync(ldifDir, { recursive: true, force: true })
})

/** One AUTH PLAIN on a fresh submission connection from `from`: its reply and how long it took. */
async function guess(from: string, login: string, password: string): Promise<Reply & { ms: number }> {
  const c = await stack.submission(from)
  try {
    const t0 = Date.now()
    const r = await c.authPlain(login, password)
    return { ...r, ms: Date.now() - t0 }
  } finally {
    c.close()
  }
}

/** The reply to a bare connection from `from` (its greeting). */

describe('fresh connection per guess from one address', () => {
  test('one login: the replies slow down, then 454 4.7.0 without the directory', async () => {
    const ip = '127.0.1.1'
    const replies = []
    for (let i = 0; i < 6; i++) replies.push(await guess(ip, ALICE.login, `wrong-${i}`))
    assert.deepEqual(
      replies.map((r) => r.code),
      [535, 535, 535, 535, 454, 454],
    )
    assert.equal(replies[4]!.enhanced, '4.7.0')
    // delay_after=2, delay=500 doubling: the 2nd waits >= 500 ms, the 3rd >= 1000, the 4th >= 2000
    assert.ok(replies[1]!.ms >= 450, `2nd reply after ${replies[1]!.ms} ms`)
    assert.ok(replies[2]!.ms >= 950, `3rd reply after ${replies[2]!.ms} ms`)
    assert.ok(replies[3]!.ms >= 1950, `4th reply after ${replies[3]!.ms} ms`)
    await waitForLog(stack.haraka, /limit\(ban_pair\)/)
    // The pair is banned, not the address: another login from it is still asked.
    assert.equal((await guess(ip, BOB.login, BOB.password)).code, 235)
  })

  test('spraying 12 logins: the address is banned, AUTH gets 454 and a new connection 421 4.7.0', async () => {
    const ip = '127.0.2.1'
    const open = await stack.submission(ip)
    const codes = []
    for (let i = 0; i < 6; i++) codes.push((await guess(ip, `user${i}@example.com`, 'Summer2024!')).code)
    assert.deepEqual(codes, [535, 535, 535, 535, 535, 535])
    // A session opened before the ban: AUTH is refused without the directory
    const r = await open.authPlain('user6@example.com', 'Summer2024!')
    assert.deepEqual([r.code, r.enhanced], [454, '4.7.0'])
    open.close()
    // New connections are refused at connect, before STARTTLS
    for (let i = 7; i < 12; i++) {
      const g = await greetingFrom(stack, ip)
      assert.deepEqual([g.code, g.enhanced], [421, '4.7.0'], g.lines.join(' | '))
    }
    await waitForLog(stack.haraka, /limit\(banned_ip\).*refused at connect/)
    // another address is not affected
    assert.equal((await greetingFrom(stack, '127.0.2.2')).code, 220)
  })

  test('one login from 12 addresses in one /24: 454 once the login has its failures', async () => {
    const codes = []
    for (let i = 1; i <= 12; i++) codes.push((await guess(`127.0.3.${i}`, SUBNET.login, `guess-${i}`)).code)
    assert.deepEqual(codes, [535, 535, 535, 535, 535, 535, 454, 454, 454, 454, 454, 454])
    // Refused before the directory: only six BINDs reached slapd.
    assert.equal(bindsOf(stack, SUBNET.uid), 6)
  })
})

describe('the victim keeps working', () => {
  test('a distributed attack from many /16s slows and refuses strangers; the owner gets 235 in under a second', async () => {
    const home = '127.50.0.1'
    assert.equal(
      (await guess(home, OWNER.login, OWNER.password)).code,
      235,
      'the owner logs in once: familiar',
    )
    const strangers = []
    for (let i = 0; i < 8; i++) strangers.push(await guess(`127.${60 + i}.0.1`, OWNER.login, `spray-${i}`))
    assert.deepEqual(
      strangers.map((r) => r.code),
      [535, 535, 535, 535, 535, 535, 454, 454],
    )
    assert.ok(strangers[4]!.ms >= 1950, `5th stranger waited ${strangers[4]!.ms} ms`)
    // Even the right password from a stranger is refused now (and the directory is not asked).
    assert.equal((await guess('127.70.0.1', OWNER.login, OWNER.password)).code, 454)
    const mine = await guess('127.50.0.9', OWNER.login, OWNER.password)
    assert.equal(mine.code, 235)
    assert.ok(mine.ms < 1000, `the owner's AUTH took ${mine.ms} ms`)
  })
})

describe('distinct passwords', () => {
  test('ten repeats of one stale password do not ban; the directory sees it once', async () => {
    const ip = '127.0.5.1'
    const before = bindsOf(stack, STALE.uid)
    const codes = []
    for (let i = 0; i < 10; i++) codes.push((await guess(ip, STALE.login, 'last-years-password')).code)
    assert.deepEqual(codes, Array(10).fill(535))
    assert.equal(bindsOf(stack, STALE.uid) - before, 1, 'only the first reached slapd')
    await waitForLog(stack.haraka, /limit\(known_wrong\)/)
    assert.equal((await guess(ip, STALE.login, STALE.password)).code, 235, 'not banned')
  })

  test('ten different wrong passwords do ban', async () => {
    const ip = '127.0.6.1'
    const codes = []
    for (let i = 0; i < 10; i++) codes.push((await guess(ip, STALE.login, `different-${i}`)).code)
    assert.deepEqual(codes.slice(0, 4), [535, 535, 535, 535])
    assert.ok(
      codes.slice(4).every((c) => c === 454),
      codes.join(','),
    )
    assert.equal((await guess(ip, STALE.login, STALE.password)).code, 454, 'the pair is banned')
  })
})

describe('directory shield', () => {
  test('a 200-guess attack on one login: slapd sees at most login_failures BINDs', async () => {
    const before = bindsOf(stack, SHIELD.uid)
    let n = 0
    const codes = new Map<number, number>()
    // 20 addresses in 20 /16s, 10 guesses each in one session
    for (let a = 0; a < 20; a++) {
      const c = await stack.submission(`127.${100 + a}.1.1`)
      for (let g = 0; g < 10; g++) {
        const r = await c.authPlain(SHIELD.login, `attack-${n++}`)
        codes.set(r.code, (codes.get(r.code) ?? 0) + 1)
      }
      c.close()
    }
    assert.equal(n, 200)
    const sent = bindsOf(stack, SHIELD.uid) - before
    assert.ok(sent <= Number(LIMITS.login_failures), `${sent} BINDs reached slapd`)
    assert.equal(codes.get(535), sent)
    assert.equal(codes.get(454), 200 - sent)
    await waitForLog(stack.haraka, /"limiter":"refuse"/)
  })
})
