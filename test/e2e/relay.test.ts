// Relay and sender policy end to end: real Haraka with auth_relay, real slapd.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { listMessages, waitForMessage } from '../harness/mail_sink'
import { ALICE, message, startStack, waitForLog, type Stack } from '../harness/stack'
import type { Reply, SmtpClient } from '../../demo/smtp_client'

let stack: Stack

before(async () => {
  stack = await startStack()
})
after(async () => {
  await stack?.stop()
})

describe('relay', () => {
  test('unauthenticated relay from 127.0.0.1 is refused with 550 5.7.1', async () => {
    const c = await stack.inbound()
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    const r = await c.rcptTo('victim@elsewhere.example')
    assert.equal(r.code, 550)
    assert.equal(r.enhanced, '5.7.1')
    await waitForLog(stack.haraka, /RCPT "victim@elsewhere.example" refused: relaying denied/)
  })

  test('unauthenticated relay is refused on the submission port after STARTTLS too', async () => {
    const c = await stack.submission()
    const r = await c.mailFrom('someone@remote.example')
    assert.equal(r.code, 530)
    assert.equal(r.enhanced, '5.7.0')
  })

  test('local delivery without AUTH is accepted on the inbound port and stored', async () => {
    const c = await stack.inbound()
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    assert.equal((await c.rcptTo('alice@example.com')).code, 250)
    const subject = `local-${Date.now()}`
    assert.equal(
      (await c.data(message({ from: 'someone@remote.example', to: 'alice@example.com', subject }))).code,
      250,
    )
    const m = await waitForMessage(stack.haraka.mailDir, (msg) => msg.eml.includes(subject))
    assert.deepEqual(m.envelope.rcpt_to, ['alice@example.com'])
    assert.equal(m.envelope.auth_user, null)
  })

  test('authenticated relay is accepted and stored', async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    assert.equal((await c.mailFrom(ALICE.login)).code, 250)
    assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
    const subject = `relay-${Date.now()}`
    assert.equal(
      (await c.data(message({ from: ALICE.login, to: 'friend@remote.example', subject }))).code,
      250,
    )
    const m = await waitForMessage(stack.haraka.mailDir, (msg) => msg.eml.includes(subject))
    assert.equal(m.envelope.auth_user, ALICE.login)
    assert.deepEqual(m.envelope.rcpt_to, ['friend@remote.example'])
  })
})

describe('sender ownership', () => {
  test('an alias listed in the directory is accepted as MAIL FROM', async () => {
    const c = await stack.submission()
    assert.equal((await c.authLogin('alice', ALICE.password)).code, 235)
    assert.equal((await c.mailFrom('A.Liddell@Example.com')).code, 250)
  })

  test('a spoofed MAIL FROM is refused with 553 5.7.1 and nothing is stored', async () => {
    const before = listMessages(stack.haraka.mailDir).length
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    const r = await c.mailFrom('bob@example.com')
    assert.equal(r.code, 553)
    assert.equal(r.enhanced, '5.7.1')
    await waitForLog(
      stack.haraka,
      /MAIL refused for "alice@example.com": "bob@example.com" is not one of its addresses/,
    )
    assert.equal(listMessages(stack.haraka.mailDir).length, before)
  })

  test('the null sender is refused for an authenticated session', async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    const r = await c.mailFrom('')
    assert.equal(r.code, 553)
    assert.equal(r.enhanced, '5.7.1')
  })
})

/** The reply, and that the log has `RCPT <shown> refused: <why>` after this point. */
async function rcptRaw(c: SmtpClient, path: string): Promise<Reply> {
  return c.send(`RCPT TO:${path}`)
}

function assertReply(r: Reply, code: number, enhanced: string | undefined, text: RegExp) {
  assert.equal(r.code, code, r.lines.join(' | '))
  assert.equal(r.enhanced, enhanced, r.lines.join(' | '))
  assert.match(r.text, text)
}

describe('relay tricks, refused at RCPT even for a local domain', () => {
  const tricks: Array<[string, string, string]> = [
    ['<user%remote.example@example.com>', 'percent hack', '"user%remote.example@example.com"'],
    ['<remote.example!user@example.com>', 'bang path', '"remote.example!user@example.com"'],
    [
      '<"user@remote.example"@example.com>',
      'quoted local part with @',
      '"\\"user@remote.example\\"@example.com"',
    ],
    // Haraka drops the route from the address it hands to plugins; we judge what the client wrote.
    ['<@example.com:user@remote.example>', 'source route', '"user@remote.example"'],
    ['<@example.com,@other.example:alice@example.com>', 'source route', '"alice@example.com"'],
  ]
  for (const [path, name, shown] of tricks) {
    test(`${path}: 550 5.7.1 Relaying denied: ${name}, reason logged`, async () => {
      const c = await stack.inbound()
      assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
      assertReply(await rcptRaw(c, path), 550, '5.7.1', new RegExp(`^Relaying denied: ${name}$`))
      await waitForLog(stack.haraka, `RCPT ${shown} refused: relaying denied: ${name}`)
    })
  }

  test('an authenticated session gets the same refusal', async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    assert.equal((await c.mailFrom(ALICE.login)).code, 250)
    assertReply(
      await rcptRaw(c, '<friend%remote.example@example.com>'),
      550,
      '5.7.1',
      /^Relaying denied: percent hack$/,
    )
    assertReply(
      await rcptRaw(c, '<@example.com:friend@remote.example>'),
      550,
      '5.7.1',
      /^Relaying denied: source route$/,
    )
    assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
  })

  test('double @ and a trailing dot never reach the plugin: Haraka core answers 501', async () => {
    const c = await stack.inbound()
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    assertReply(
      await rcptRaw(c, '<user@remote.example@example.com>'),
      501,
      undefined,
      /Invalid RCPT TO address/,
    )
    assertReply(await rcptRaw(c, '<user@@example.com>'), 501, undefined, /Invalid RCPT TO address/)
    assertReply(await rcptRaw(c, '<alice@example.com.>'), 501, undefined, /Invalid RCPT TO address/)
    // the session goes on
    assert.equal((await c.rcptTo('alice@example.com')).code, 250)
  })
})

describe('address literals and postmaster', () => {
  test('[our IP] is local; another IP literal is relaying (refused without AUTH, allowed with)', async () => {
    const c = await stack.inbound()
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    assert.equal((await rcptRaw(c, '<postmaster@[127.0.0.1]>')).code, 250)
    assertReply(
      await rcptRaw(c, '<user@[192.0.2.1]>'),
      550,
      '5.7.1',
      /^Relaying denied: address literal is not this server$/,
    )
    await waitForLog(
      stack.haraka,
      /RCPT "user@\[192\.0\.2\.1\]" refused: relaying denied: address literal is not ours/,
    )
    assertReply(await rcptRaw(c, '<user@[IPv6:::1]>'), 550, '5.7.1', /address literal/)

    const a = await stack.submission()
    assert.equal((await a.authPlain(ALICE.login, ALICE.password)).code, 235)
    assert.equal((await a.mailFrom(ALICE.login)).code, 250)
    assert.equal((await rcptRaw(a, '<user@[192.0.2.1]>')).code, 250)
  })

  test('the bare <postmaster> is accepted (RFC 5321 4.5.1); another bare name is a 501 from core', async () => {
    const c = await stack.inbound()
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    assert.equal((await rcptRaw(c, '<postmaster>')).code, 250)
    // other bare names are not addresses: Haraka core answers 501
    assert.equal((await rcptRaw(c, '<root>')).code, 501)
  })
})

describe('AUTH=<mailbox> on MAIL FROM (RFC 4954 5)', () => {
  test('unauthenticated: ignored (treated as <>), logged, and it never opens relaying', async () => {
    const c = await stack.inbound()
    assert.equal((await c.mailFrom('alice@example.com', 'AUTH=<alice@example.com>')).code, 250)
    await waitForLog(
      stack.haraka,
      /AUTH= parameter "alice@example\.com" on MAIL FROM ignored, treated as AUTH=<> \(unauthenticated\)/,
    )
    assertReply(
      await c.rcptTo('victim@elsewhere.example'),
      550,
      '5.7.1',
      /^Relaying denied: authenticate first$/,
    )
  })

  test('authenticated: believed for an owned address, otherwise treated as <>', async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    assert.equal((await c.mailFrom(ALICE.login, 'AUTH=<a.liddell@example.com>')).code, 250)
    await waitForLog(stack.haraka, /AUTH=<a\.liddell@example\.com> on MAIL FROM accepted \(authenticated\)/)
    assert.equal((await c.send('RSET')).code, 250)
    assert.equal((await c.mailFrom(ALICE.login, 'AUTH=<bob@example.com>')).code, 250)
    await waitForLog(
      stack.haraka,
      /AUTH= parameter "bob@example\.com" on MAIL FROM ignored, treated as AUTH=<> \(not_owned\)/,
    )
    assert.equal((await c.send('RSET')).code, 250)
    assert.equal((await c.mailFrom(ALICE.login, 'AUTH=bob')).code, 250)
    await waitForLog(
      stack.haraka,
      /AUTH= parameter malformed on MAIL FROM ignored, treated as AUTH=<> \(malformed\)/,
    )
  })
})

describe('sender comparison tricks on real Haraka', () => {
  test("case and unnecessary quotes normalise to the owner's address; %-hacks and other people do not", async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    const expect = async (from: string, code: number) => {
      const r = await c.send(`MAIL FROM:${from}`)
      assert.equal(r.code, code, `${from}: ${r.lines.join(' | ')}`)
      if (code === 553) assert.equal(r.enhanced, '5.7.1')
      await c.send('RSET')
    }
    await expect('<ALICE@EXAMPLE.COM>', 250)
    await expect('<"alice"@example.com>', 250)
    await expect('<@relay.example:alice@example.com>', 250)
    await expect('<"bob"@example.com>', 553)
    await expect('<BOB@example.com>', 553)
    await expect('<alice%example.com@example.com>', 553)
    await expect('<bob%example.com@example.com>', 553)
    await expect('<"alice@example.com"@evil.example>', 553)
    await expect('<alice+tag@example.com>', 553)
  })
})

describe('header alignment (default: refuse)', () => {
  test('From of someone else: 550 5.7.1 at end of DATA, reason logged, nothing stored', async () => {
    const before = listMessages(stack.haraka.mailDir).length
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    assert.equal((await c.mailFrom(ALICE.login)).code, 250)
    assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
    const r = await c.data(message({ from: 'Bob <bob@example.com>', to: 'friend@remote.example' }))
    assertReply(r, 550, '5.7.1', /^From header address not owned by the authenticated user$/)
    await waitForLog(
      stack.haraka,
      /message refused for "alice@example\.com": from not owned: "From: bob@example\.com"/,
    )
    assert.equal(listMessages(stack.haraka.mailDir).length, before)
  })

  test('own From with a display name is delivered', async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    assert.equal((await c.mailFrom(ALICE.login)).code, 250)
    assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
    const subject = `aligned-${Date.now()}`
    assert.equal(
      (
        await c.data(
          message({ from: '"Alice L." <A.Liddell@example.com>', to: 'friend@remote.example', subject }),
        )
      ).code,
      250,
    )
    await waitForMessage(stack.haraka.mailDir, (m) => m.eml.includes(subject))
  })

  test('a foreign Sender, a second (obsolete-form) From, a From with a control in its name, several From without Sender, a group: all refused with their own text', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['Sender: bob@example.com'], /^Sender header address not owned by the authenticated user$/],
      [['From : bob@example.com'], /^From header address not owned by the authenticated user$/],
      // a Java reader (InternetHeaders trims C0 controls) takes this for From: bob
      [
        ['From\x00: bob@example.com'],
        /^Malformed header field name \(RFC 5322 2\.2: printable ASCII only, then a colon\)$/,
      ],
    ]
    const send = async (from: string, headers: string[]) => {
      const c = await stack.submission()
      assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
      assert.equal((await c.mailFrom(ALICE.login)).code, 250)
      assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
      return c.data(message({ from, to: 'friend@remote.example', headers }))
    }
    for (const [headers, text] of cases) assertReply(await send(ALICE.login, headers), 550, '5.7.1', text)
    assertReply(
      await send('alice@example.com, a.liddell@example.com', []),
      550,
      '5.7.1',
      /^Several From addresses need a Sender header/,
    )
    assert.equal(
      (await send('alice@example.com, a.liddell@example.com', ['Sender: alice@example.com'])).code,
      250,
    )
    assertReply(
      await send('Team: bob@example.com;', []),
      550,
      '5.7.1',
      /^From or Sender header cannot be parsed$/,
    )
  })

  test('inbound mail is not header-checked', async () => {
    const c = await stack.inbound()
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    assert.equal((await c.rcptTo('alice@example.com')).code, 250)
    assert.equal((await c.data(message({ from: 'bob@example.com', to: 'alice@example.com' }))).code, 250)
  })
})

describe('an internationalised local domain (host_list reloaded, last in this file)', () => {
  test('host_list lists b\u00fccher.example: RCPT TO:<u@b\u00fccher.example> (A-label in Haraka) is local, without AUTH', async () => {
    writeFileSync(path.join(stack.haraka.dir, 'config', 'host_list'), 'example.com\nB\u00fccher.Example\n')
    const rcptCode = async (to: string) => {
      const c = await stack.inbound()
      await c.mailFrom('someone@remote.example')
      const code = (await c.rcptTo(to)).code
      c.close()
      return code
    }
    // the reload is picked up within a moment; example.com stays local throughout
    let code = 0
    for (let i = 0; i < 50 && code !== 250; i++) {
      code = await rcptCode('u@b\u00fccher.example')
      if (code !== 250) await sleep(200)
    }
    assert.equal(code, 250)
    assert.equal(await rcptCode('u@xn--bcher-kva.example'), 250)
    assert.equal(await rcptCode('alice@example.com'), 250)
    assert.equal(await rcptCode('u@b\u00fccher.example.org'), 550)
  })
})
