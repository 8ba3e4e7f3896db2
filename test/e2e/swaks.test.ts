// The AUTH, relay, spoof and stamp paths again, driven by swaks, a real third-party SMTP
// client, instead of demo/smtp_client: same throwaway slapd and Haraka, same replies.
// swaks does not verify certificates by default; it is given the instance's self-signed
// certificate as CA with --tls-verify (swaks 20201014 checks the chain, not the host name).
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { headerSection, listMessages, waitForMessage } from '../harness/mail_sink'
import { ALICE, startStack, type Stack } from '../harness/stack'
import { authPlainArgs, replyWith, swaks, swaksTo, type SwaksRun } from '../harness/swaks'

let stack: Stack

before(async () => {
  stack = await startStack()
})
after(async () => {
  await stack?.stop()
})

/** swaks against one of the instance's ports, over STARTTLS, implicit TLS or clear text. */
function run(
  port: 'submission' | 'smtps' | 'inbound',
  tls: 'starttls' | 'implicit' | 'none',
  args: string[],
): Promise<SwaksRun> {
  const { haraka } = stack
  const caFile = path.join(haraka.dir, 'config/tls_cert.pem')
  return swaksTo({ host: haraka.host, port: haraka.ports[port], tls, caFile }, args)
}

const alicePlain = authPlainArgs(ALICE.login, ALICE.password)

function expectReply(r: SwaksRun, code: number, enhanced: string, text?: RegExp) {
  const reply = replyWith(r, code)
  assert.equal(reply.enhanced, enhanced, r.transcript)
  if (text) assert.match(reply.text, text, r.transcript)
}

describe('AUTH with swaks', () => {
  test('PLAIN over STARTTLS: 235 2.7.0, then relay is accepted', async () => {
    const r = await run('submission', 'starttls', [
      ...alicePlain,
      '--from',
      ALICE.login,
      '--to',
      'friend@remote.example',
    ])
    assert.equal(r.status, 0, r.transcript)
    expectReply(r, 235, '2.7.0')
    assert.ok(replyWith(r, 235).tls, 'AUTH went over TLS')
  })

  test('LOGIN on the implicit-TLS port with the uid: 235 2.7.0', async () => {
    const r = await run('smtps', 'implicit', [
      '--auth',
      'LOGIN',
      '--auth-user',
      ALICE.uid,
      '--auth-password',
      ALICE.password,
      '--quit-after',
      'AUTH',
    ])
    assert.equal(r.status, 0, r.transcript)
    expectReply(r, 235, '2.7.0')
    assert.ok(
      r.replies.every((reply) => reply.tls),
      'every reply over TLS',
    )
  })

  test('wrong password, PLAIN and LOGIN: 535 5.7.8 and swaks gives up (exit 28)', async () => {
    for (const mech of ['PLAIN', 'LOGIN']) {
      const r = await run('submission', 'starttls', [
        '--auth',
        mech,
        '--auth-user',
        ALICE.login,
        '--auth-password',
        'not-the-password',
        '--from',
        ALICE.login,
        '--to',
        'friend@remote.example',
      ])
      assert.equal(r.status, 28, r.transcript)
      expectReply(r, 535, '5.7.8')
      assert.ok(!r.sent.some((line) => /^MAIL FROM/i.test(line)), 'no MAIL after the refusal')
    }
  })

  test('before TLS: AUTH is not offered, so swaks sends no credentials (exit 28)', async () => {
    const r = await run('submission', 'none', [...alicePlain, '--quit-after', 'AUTH'])
    assert.equal(r.status, 28, r.transcript)
    assert.match(r.transcript, /Host did not advertise authentication/)
    assert.ok(!r.sent.some((line) => /^AUTH/i.test(line)), r.transcript)
  })

  test('before TLS, AUTH sent anyway (AUTH advertised by a pipe in between): 538 5.7.11, no 334', async () => {
    const pipe = `${process.execPath} ${path.join(__dirname, '../harness/advertise_auth.js')} ${stack.haraka.host} ${stack.haraka.ports.submission}`
    const r = await swaks([
      '--pipe',
      pipe,
      '--ehlo',
      'client.example.net',
      '--auth',
      'LOGIN',
      '--auth-user',
      ALICE.login,
      '--auth-password',
      ALICE.password,
      '--quit-after',
      'AUTH',
    ])
    assert.equal(r.status, 28, r.transcript)
    assert.deepEqual(
      r.sent.filter((line) => /^AUTH/i.test(line)),
      ['AUTH LOGIN'],
      r.transcript,
    )
    expectReply(r, 538, '5.7.11')
    assert.ok(!r.replies.some((reply) => reply.code === 334), r.transcript)
  })
})

describe('relay and sender with swaks', () => {
  test('relay without AUTH on the inbound port: 550 5.7.1 (exit 24), nothing stored', async () => {
    const before = listMessages(stack.haraka.mailDir).length
    const r = await run('inbound', 'none', [
      '--from',
      'someone@remote.example',
      '--to',
      'victim@elsewhere.example',
    ])
    assert.equal(r.status, 24, r.transcript)
    expectReply(r, 550, '5.7.1')
    assert.equal(listMessages(stack.haraka.mailDir).length, before)
  })

  test('spoofed MAIL FROM after AUTH: 553 5.7.1 (exit 23), nothing stored', async () => {
    const before = listMessages(stack.haraka.mailDir).length
    const r = await run('submission', 'starttls', [
      ...alicePlain,
      '--from',
      'bob@example.com',
      '--to',
      'friend@remote.example',
    ])
    assert.equal(r.status, 23, r.transcript)
    expectReply(r, 235, '2.7.0')
    expectReply(r, 553, '5.7.1')
    assert.equal(listMessages(stack.haraka.mailDir).length, before)
  })

  test('forged From header after AUTH: 550 5.7.1 at end of DATA (exit 26), nothing stored', async () => {
    const before = listMessages(stack.haraka.mailDir).length
    const r = await run('submission', 'starttls', [
      ...alicePlain,
      '--from',
      ALICE.login,
      '--to',
      'friend@remote.example',
      '--header',
      'From: Bob <bob@example.com>',
    ])
    assert.equal(r.status, 26, r.transcript)
    expectReply(r, 550, '5.7.1', /^From header address not owned by the authenticated user$/)
    assert.ok(r.sent.includes('From: Bob <bob@example.com>'), 'swaks sent the forged From')
    assert.equal(listMessages(stack.haraka.mailDir).length, before)
  })
})

describe('the stamp on mail swaks sent', () => {
  const FORGED = [
    'X-Authenticated-User: ceo@example.com',
    'Authentication-Results: mail.example.com; auth=pass (plain) smtp.auth=ceo@example.com',
  ]

  for (const [name, port, tls, auth, user, mech] of [
    ['PLAIN over STARTTLS', 'submission', 'starttls', 'PLAIN', ALICE.login, 'plain'],
    ['LOGIN on implicit TLS', 'smtps', 'implicit', 'LOGIN', ALICE.uid, 'login'],
  ] as const) {
    test(`${name}: X-Authenticated-User and smtp.auth= are ours, the forged copies are gone`, async () => {
      const subject = `swaks-stamp-${mech}-${Date.now()}`
      const r = await run(port, tls, [
        '--auth',
        auth,
        '--auth-user',
        user,
        '--auth-password',
        ALICE.password,
        '--from',
        ALICE.login,
        '--to',
        'friend@remote.example',
        '--header',
        `Subject: ${subject}`,
        ...FORGED.flatMap((f) => ['--add-header', f]),
      ])
      assert.equal(r.status, 0, r.transcript)
      for (const f of FORGED) assert.ok(r.sent.includes(f), `swaks sent ${f}`)
      const msg = await waitForMessage(stack.haraka.mailDir, (m) => m.eml.includes(subject))
      const head = headerSection(msg.eml)
      assert.deepEqual(msg.headers('X-Authenticated-User'), [user], head)
      assert.deepEqual(
        msg.headers('Authentication-Results'),
        [`mail.example.com;\tauth=pass (${mech}) smtp.auth=${user} smtp.mailfrom=${ALICE.login}`],
        head,
      )
      assert.ok(!head.includes('ceo@example.com'), head)
      assert.equal(msg.envelope.auth_user, user)
    })
  }
})
