// SMTP AUTH end to end: real Haraka with ldap_auth in front of a real slapd.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { readFileSync } from 'node:fs'
import { isClosedError, type SmtpClient } from '../../demo/smtp_client'
import { ALICE, BOB, startStack, waitForLog, type Stack } from '../harness/stack'

let stack: Stack
// Small delays keep the suite fast; the doubling is still measurable.
const FAILURE_DELAY = 300

before(async () => {
  stack = await startStack({
    files: {
      'ldap_auth.ini': `[main]\nfailure_delay=${FAILURE_DELAY}\nfailure_delay_max=${FAILURE_DELAY * 4}\n`,
    },
  })
})
after(async () => {
  await stack?.stop()
})

describe('AUTH is offered and accepted only under TLS', () => {
  test('no AUTH in EHLO before STARTTLS, and AUTH then gets 538 5.7.11 without a 334', async () => {
    const c = await stack.inbound()
    const ehlo = await c.ehlo('client.example.net')
    assert.ok(
      ehlo.capabilities.some((cap) => /^STARTTLS$/i.test(cap)),
      'STARTTLS offered',
    )
    assert.ok(!ehlo.capabilities.some((cap) => /^AUTH\b/i.test(cap)), 'AUTH not offered in clear text')
    const r = await c.send('AUTH LOGIN')
    assert.equal(r.code, 538)
    assert.equal(r.enhanced, '5.7.11')
  })

  test('after STARTTLS, AUTH PLAIN LOGIN is offered', async () => {
    const c = await stack.submission()
    const ehlo = await c.ehlo('client.example.net')
    assert.ok(ehlo.capabilities.includes('AUTH PLAIN LOGIN'), ehlo.capabilities.join(','))
  })
})

describe('successful AUTH', () => {
  test('PLAIN over STARTTLS: 235 2.7.0', async () => {
    const c = await stack.submission()
    const r = await c.authPlain(ALICE.login, ALICE.password)
    assert.equal(r.code, 235)
    assert.equal(r.enhanced, '2.7.0')
  })

  test('LOGIN over STARTTLS with a bare uid', async () => {
    const c = await stack.submission()
    const r = await c.authLogin(BOB.uid, BOB.password)
    assert.equal(r.code, 235)
  })

  test('PLAIN and LOGIN over implicit TLS', async () => {
    const c1 = await stack.smtps()
    assert.equal((await c1.authPlain(ALICE.uid, ALICE.password, { initialResponse: false })).code, 235)
    const c2 = await stack.smtps()
    assert.equal((await c2.authLogin(ALICE.login, ALICE.password)).code, 235)
  })

  test('a second AUTH in the same session: 503 5.5.1', async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    const r = await c.authPlain(ALICE.login, ALICE.password)
    assert.equal(r.code, 503)
    assert.equal(r.enhanced, '5.5.1')
  })
})

describe('failed AUTH', () => {
  test('wrong password: 535 5.7.8', async () => {
    const c = await stack.submission()
    const r = await c.authPlain(ALICE.login, 'not-the-password')
    assert.equal(r.code, 535)
    assert.equal(r.enhanced, '5.7.8')
  })

  test('unknown user: 535 5.7.8, same reply as a wrong password', async () => {
    const c = await stack.submission()
    const r = await c.authLogin('mallory@example.com', 'whatever')
    assert.equal(r.code, 535)
    assert.equal(r.enhanced, '5.7.8')
  })

  test('empty password: 535, and no bind reaches the directory', async () => {
    const before = stack.slapd.logTail(100000)
    const binds = (log: string) =>
      (log.match(/BIND dn="uid=alice,ou=people,dc=example,dc=com"/g) ?? []).length
    const c = await stack.submission()
    const r = await c.authPlain(ALICE.login, '')
    assert.equal(r.code, 535)
    // The server is configured to accept unauthenticated binds, so only our guard stops it.
    assert.equal(binds(stack.slapd.logTail(100000)), binds(before))
  })

  test('logins with LDAP metacharacters authenticate nobody and crash nothing', async () => {
    const attacks = [
      '*',
      'alice)(uid=*',
      '*)(|(uid=*',
      'alice\\',
      'alice,ou=people',
      'uid=alice,ou=people,dc=example,dc=com',
      'alice+bob',
      'a*',
      '(uid=alice)',
    ]
    for (const login of attacks) {
      const c = await stack.submission()
      const r = await c.authPlain(login, ALICE.password)
      assert.equal(r.code, 535, `login ${JSON.stringify(login)} got ${r.code}`)
      c.close()
    }
    // The server is still up and alice still works.
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
  })

  test('PLAIN with an authorization identity other than the login: 535 5.7.8', async () => {
    const c = await stack.submission()
    const r = await c.authPlain(ALICE.login, ALICE.password, { authzid: 'bob@example.com' })
    assert.equal(r.code, 535)
    assert.equal(r.enhanced, '5.7.8')
    assert.match(
      stack.haraka.logs(),
      /AUTH PLAIN failed for "alice@example.com": authz\(authzid_not_permitted\)/,
    )
  })

  test('AUTH inside a mail transaction: 503 5.5.1', async () => {
    // The inbound port takes MAIL without AUTH; STARTTLS there makes AUTH possible at all.
    const c = await stack.inbound()
    assert.equal((await c.starttls()).code, 220)
    await c.ehlo('client.example.net')
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    const r = await c.authPlain(ALICE.login, ALICE.password)
    assert.equal(r.code, 503)
    assert.equal(r.enhanced, '5.5.1')
  })

  test('the password never appears in the Haraka log, alone or inside a PLAIN blob', async () => {
    const c = await stack.submission()
    await c.authLogin(ALICE.login, ALICE.password)
    await c.authPlain(ALICE.login, 'another-secret-xyz').catch(() => undefined)
    // PLAIN as an initial response and after a 334, without and with an authzid (the login itself).
    const wrong = 'third-secret-pqr'
    const d = await stack.submission()
    assert.equal((await d.authPlain(ALICE.login, wrong)).code, 535)
    assert.equal(
      (await d.authPlain(ALICE.login, wrong, { authzid: ALICE.login, initialResponse: false })).code,
      535,
    )
    assert.equal((await d.authPlain(ALICE.login, ALICE.password, { authzid: ALICE.login })).code, 235)
    const e = await stack.submission()
    assert.equal((await e.authPlain(ALICE.login, ALICE.password, { initialResponse: false })).code, 235)
    await waitForLog(
      stack.haraka,
      /AUTH PLAIN succeeded for "alice@example\.com"[^\n]*\n(?:.*\n)*.*AUTH PLAIN succeeded for "alice@example\.com"/,
    )
    const logs = stack.haraka.logs()
    const b64 = (text: string) => Buffer.from(text).toString('base64')
    for (const secret of [ALICE.password, 'another-secret-xyz', wrong]) {
      assert.ok(!logs.includes(secret), `${secret} in log`)
      for (const form of [
        secret,
        `\0${ALICE.login}\0${secret}`,
        `${ALICE.login}\0${ALICE.login}\0${secret}`,
      ]) {
        assert.ok(!logs.includes(b64(form)), `base64 of ${JSON.stringify(form)} in log`)
      }
    }
  })
})

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64')

/** Resolves when the server has closed the connection (a further command fails with ECLOSED). */
async function assertClosed(c: SmtpClient): Promise<void> {
  await assert.rejects(c.send('NOOP'), (err: unknown) => isClosedError(err))
}

describe('exact replies of the exchange (RFC 4954)', () => {
  test('PLAIN without initial response: an empty "334 " then the response', async () => {
    const c = await stack.submission()
    const r = await c.send('AUTH PLAIN')
    // Haraka's respond() writes an empty 334 as "334" and two spaces (its stock auth does the same); clients read it as empty.
    assert.match(r.lines[0] ?? '', /^334 +$/)
    assert.equal(r.lines.length, 1)
    assert.equal((await c.send(b64(`\0${ALICE.login}\0${ALICE.password}`))).code, 235)
  })

  test('* cancels with 501 5.7.0: PLAIN after 334, LOGIN at the username and at the password', async () => {
    for (const steps of [['AUTH PLAIN'], ['AUTH LOGIN'], ['AUTH LOGIN', b64('alice')]]) {
      const c = await stack.submission()
      for (const line of steps) assert.equal((await c.send(line)).code, 334, line)
      const r = await c.send('*')
      assert.deepEqual([r.code, r.enhanced], [501, '5.7.0'], steps.join(' / '))
      c.close()
    }
  })

  test('invalid base64 501 5.5.2 (initial response and continuation); malformed PLAIN 501 5.5.2; unknown mechanism 504 5.5.4', async () => {
    const c1 = await stack.submission()
    assert.deepEqual(await c1.send('AUTH PLAIN not*base64').then((r) => [r.code, r.enhanced]), [501, '5.5.2'])
    assert.equal((await c1.send('AUTH LOGIN')).code, 334)
    assert.deepEqual(await c1.send('abc').then((r) => [r.code, r.enhanced]), [501, '5.5.2'])
    c1.close()
    const c2 = await stack.submission()
    assert.deepEqual(
      await c2
        .send(`AUTH PLAIN ${b64(`${ALICE.login}\0${ALICE.password}`)}`)
        .then((r) => [r.code, r.enhanced]),
      [501, '5.5.2'],
    )
    assert.deepEqual(await c2.send('AUTH CRAM-MD5').then((r) => [r.code, r.enhanced]), [504, '5.5.4'])
    c2.close()
  })
})

describe('a core command in the middle of an exchange', () => {
  test('RSET after the 334 abandons the exchange: a later line is a command again, not a response', async () => {
    const c = await stack.submission()
    assert.equal((await c.send('AUTH LOGIN')).code, 334)
    assert.equal((await c.send('RSET')).code, 250)
    const r = await c.send(b64('alice'))
    assert.equal(r.code, 500, `taken as an AUTH response: ${r.lines.join(' | ')}`)
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235, 'a fresh AUTH works')
    assert.match(
      stack.haraka.logs(),
      /AUTH LOGIN abandoned: the client sent another command instead of a response \(failure 1 of 3\)/,
    )
  })

  test('NOOP after the PLAIN 334: valid credentials sent afterwards do not authenticate', async () => {
    const c = await stack.submission()
    assert.equal((await c.send('AUTH PLAIN')).code, 334)
    assert.equal((await c.send('NOOP')).code, 250)
    assert.equal((await c.send(b64(`\0${ALICE.login}\0${ALICE.password}`))).code, 500)
    assert.equal((await c.mailFrom(ALICE.login)).code, 530, 'not authenticated')
  })
})

describe('failed attempts in one session', () => {
  test('the third failure is answered 421 4.7.0 and the connection is closed', async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, 'wrong-1')).code, 535)
    assert.equal((await c.authPlain(ALICE.login, 'wrong-2')).code, 535)
    const r = await c.authPlain(ALICE.login, ALICE.password + 'x')
    assert.deepEqual([r.code, r.enhanced], [421, '4.7.0'])
    await assertClosed(c)
  })

  test('an AUTH flood (cancel, bad base64, abandoned exchange) hits the same limit', async () => {
    const c = await stack.submission()
    assert.equal((await c.send('AUTH LOGIN')).code, 334)
    assert.equal((await c.send('*')).code, 501)
    assert.equal((await c.send('AUTH PLAIN !!!!')).code, 501)
    assert.equal((await c.send('AUTH PLAIN')).code, 334)
    assert.equal((await c.send('RSET')).code, 250)
    const r = await c.send('AUTH LOGIN')
    assert.deepEqual([r.code, r.enhanced], [421, '4.7.0'], 'the abandoned exchange was the third failure')
    await assertClosed(c)
  })

  test('the delay grows, and another session is served meanwhile (no blocking)', async () => {
    const a = await stack.submission()
    let t = Date.now()
    assert.equal((await a.authPlain(ALICE.login, 'bad')).code, 535)
    const first = Date.now() - t
    assert.ok(first >= FAILURE_DELAY - 20, `first failure answered after ${first} ms`)
    const b = await stack.submission()
    t = Date.now()
    const order: string[] = []
    const slow = a.authPlain(ALICE.login, 'bad again').then((r) => order.push(`a:${r.code}`))
    const fast = b.authPlain(BOB.login, BOB.password).then((r) => order.push(`b:${r.code}`))
    await Promise.all([slow, fast])
    const second = Date.now() - t
    assert.ok(second >= 2 * FAILURE_DELAY - 20, `second failure answered after ${second} ms`)
    assert.deepEqual(order, ['b:235', 'a:535'], 'the other session got its 235 during the delay')
  })
})

describe('over-long lines', () => {
  test('a long AUTH line or base64 continuation: 521 and the connection closed; Haraka memory stays flat', async () => {
    const c1 = await stack.submission()
    const r1 = await c1.send(`AUTH PLAIN ${'A'.repeat(600)}`)
    assert.equal(r1.code, 521)
    await assertClosed(c1)
    const c2 = await stack.submission()
    assert.equal((await c2.send('AUTH LOGIN')).code, 334)
    assert.equal((await c2.send('QUFB'.repeat(200))).code, 521)
    await assertClosed(c2)

    const rss = () =>
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${stack.haraka.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
    const before = rss()
    for (let i = 0; i < 10; i++) {
      const c = await stack.submission()
      c.writeRaw(`AUTH PLAIN ${'A'.repeat(1024 * 1024)}`) // 1 MB, no line end
      assert.equal((await c.reply()).code, 521)
      await assertClosed(c)
    }
    const grown = rss() - before
    assert.ok(
      grown < 16 * 1024 * 1024,
      `Haraka RSS grew by ${(grown / 1048576).toFixed(1)} MB for 10 MB of line`,
    )
    const ok = await stack.submission()
    assert.equal((await ok.authPlain(ALICE.login, ALICE.password)).code, 235, 'still serving')
  })
})

describe('credentials are UTF-8 without control characters: 501 5.5.2, nothing reaches the directory', () => {
  // one line per bind request (a successful bind logs a second "mech=SIMPLE" line)
  const ALICE_BIND = /BIND dn="uid=alice,ou=people,dc=example,dc=com" method=128/g
  const alicesBinds = () => (stack.slapd.logTail(1_000_000).match(ALICE_BIND) ?? []).length
  const chunk = (p: string | number[]) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))
  const raw = (...parts: (string | number[])[]) => Buffer.concat(parts.map(chunk)).toString('base64')

  test('a LOGIN password with NUL (or another C0 control) never reaches slapd: 501 5.5.2', async () => {
    const before = alicesBinds()
    // "\0" alone is what a C-string directory would read as an empty password (an anonymous bind).
    const pw = ALICE.password
    for (const password of ['\0', `${pw}\0`, `\0${pw}`, `${pw}\x01`, `${pw}\x7f`]) {
      const c = await stack.submission()
      const r = await c.authLogin(ALICE.login, password)
      const shown = `password ${JSON.stringify(password)}: ${r.lines.join(' | ')}`
      assert.deepEqual([r.code, r.enhanced], [501, '5.5.2'], shown)
      c.close()
    }
    await waitForLog(stack.haraka, /AUTH refused: control_characters \(in the password\)/)
    assert.equal(alicesBinds(), before, 'no BIND as alice in the slapd log')
    const ok = await stack.submission()
    const r = await ok.authLogin(ALICE.login, ALICE.password)
    assert.equal(r.code, 235, 'the password without the control still works')
    assert.equal(alicesBinds(), before + 1)
  })

  test('control characters in a login or authzid: 501 5.5.2, LOGIN before the password prompt', async () => {
    const c1 = await stack.submission()
    assert.equal((await c1.send('AUTH LOGIN')).code, 334)
    const r1 = await c1.send(raw(`${ALICE.login}\t`))
    assert.deepEqual([r1.code, r1.enhanced], [501, '5.5.2'], 'a trailing TAB is no longer trimmed away')
    c1.close()
    const c2 = await stack.submission()
    const r2 = await c2.send(`AUTH PLAIN ${raw(`${ALICE.login}\x1b\0${ALICE.login}\0${ALICE.password}`)}`)
    assert.deepEqual([r2.code, r2.enhanced], [501, '5.5.2'])
    c2.close()
    await waitForLog(stack.haraka, /AUTH refused: control_characters \(in the authorization identity\)/)
  })

  test('invalid UTF-8 is refused, not replaced: 78 FF and 78 FE never both become "x\\uFFFD"', async () => {
    const before = alicesBinds()
    const c1 = await stack.submission()
    const r1 = await c1.send(`AUTH PLAIN ${raw(`\0${ALICE.login}\0`, [0x78, 0xff])}`)
    assert.deepEqual([r1.code, r1.enhanced], [501, '5.5.2'], r1.lines.join(' | '))
    c1.close()
    const c2 = await stack.submission()
    assert.equal((await c2.send('AUTH LOGIN')).code, 334)
    assert.equal((await c2.send(raw(ALICE.login))).code, 334)
    const r2 = await c2.send(raw([0x78, 0xfe]))
    assert.deepEqual([r2.code, r2.enhanced], [501, '5.5.2'], r2.lines.join(' | '))
    c2.close()
    // an overlong "/" (C0 AF) in the username
    const c3 = await stack.submission()
    assert.equal((await c3.send('AUTH LOGIN')).code, 334)
    const r3 = await c3.send(raw('alice', [0xc0, 0xaf]))
    assert.deepEqual([r3.code, r3.enhanced], [501, '5.5.2'])
    c3.close()
    await waitForLog(stack.haraka, /AUTH refused: bad_utf8 \(in the username\)/)
    assert.match(stack.haraka.logs(), /AUTH refused: bad_utf8 \(in the PLAIN response\)/)
    assert.equal(alicesBinds(), before, 'no BIND as alice in the slapd log')
  })

  test('each counts as a failed attempt: the third in a session is 421 4.7.0, and it closes', async () => {
    const c = await stack.submission()
    assert.equal((await c.authLogin(ALICE.login, '\0')).code, 501)
    assert.equal((await c.send(`AUTH PLAIN ${raw(`\0${ALICE.login}\0`, [0x78, 0xff])}`)).code, 501)
    const r = await c.authPlain(ALICE.login, `${ALICE.password}\x02`)
    assert.deepEqual([r.code, r.enhanced], [421, '4.7.0'])
    await assertClosed(c)
  })
})
