// The sender stamp end to end, default configuration: what the sink stores is
// what would be delivered, and the tests read its header section byte for byte.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { headerSection, waitForMessage, type Message } from '../harness/mail_sink'
import { ALICE, message, startStack, type Stack } from '../harness/stack'
import { escapeRe as escape, receivedPattern, stampResults } from '../harness/stamp_checks'

let stack: Stack

before(async () => {
  stack = await startStack()
})
after(async () => {
  await stack?.stop()
})

const FAKE_SIG = 'A'.repeat(43)
const FORGED = [
  'X-Authenticated-User: ceo@example.com',
  'x-AUTHENTICATED-user: ceo@example.com',
  'X-Authenticated-User:\r\n\tceo@example.com',
  'X-Authenticated-User : ceo@example.com',
  'X-Authenticated-User: ceo@example.com',
  `X-Auth-Stamp: v=1; kid=k1; t=1800000000; u=ceo@example.com; f=ceo@example.com; s=${FAKE_SIG}`,
  `x-auth-stamp :\r\n v=1; kid=k1; t=1800000000; u=ceo@example.com;\r\n f=ceo@example.com; s=${FAKE_SIG}`,
  'Authentication-Results: mail.example.com; auth=pass (plain) smtp.auth=ceo@example.com',
  'Authentication-Results: MAIL.EXAMPLE.COM;\r\n\tauth=pass smtp.auth=ceo@example.com',
  'Original-Authentication-Results: mail.example.com; auth=pass smtp.auth=ceo@example.com',
  // The authserv-id in the other RFC 8601/5322 spellings (the obsolete-form name is not Haraka's to rename).
  'Authentication-Results : "mail.example.com"; auth=pass smtp.auth=ceo@example.com',
  'Original-Authentication-Results: "mail.example.com"; auth=pass smtp.auth=ceo@example.com',
  'Authentication-Results : mail.example.com.; auth=pass smtp.auth=ceo@example.com',
  'Original-Authentication-Results: ((x)) mail.example.com; auth=pass smtp.auth=ceo@example.com',
  'Original-Authentication-Results: (;) mail.example.com; auth=pass smtp.auth=ceo@example.com',
  'Authentication-Results: (;) mail.example.com; auth=pass smtp.auth=ceo@example.com',
  // Cannot be read (comment never closed): treated as ours.
  'Original-Authentication-Results: (mail.example.com; auth=pass smtp.auth=ceo@example.com',
]
const UPSTREAM = 'Authentication-Results: mx.upstream.example; spf=pass smtp.mailfrom=example.org'

/** The client's own header lines of a message() text: everything before the blank line, forged lines left out. */
function clientHeader(text: string): string {
  const head = text.slice(0, text.indexOf('\r\n\r\n') + 2)
  let kept = head
  for (const f of [...FORGED, UPSTREAM]) kept = kept.replace(`${f}\r\n`, '')
  return kept
}

/** The auth_stamp results line Haraka logged for one transaction. */
function resultsLine(uuid: string): string {
  return stampResults(stack.haraka.logs(), uuid)
}

describe('authenticated mail is stamped', () => {
  let msg: Message
  let sent: string
  before(async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    assert.equal((await c.mailFrom(ALICE.login)).code, 250)
    assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
    const subject = `stamp-${Date.now()}`
    sent = message({
      from: ALICE.login,
      to: 'friend@remote.example',
      subject,
      headers: [...FORGED, UPSTREAM],
    })
    assert.equal((await c.data(sent)).code, 250)
    msg = await waitForMessage(stack.haraka.mailDir, (m) => m.eml.includes(subject))
  })

  test('the delivered header, byte for byte: A-R and identity on top, then Received, then the client\u2019s own fields', () => {
    const expected = new RegExp(
      '^' +
        escape(
          'Authentication-Results: mail.example.com;\r\n' +
            '\tauth=pass (plain) smtp.auth=alice@example.com smtp.mailfrom=alice@example.com\r\n' +
            'X-Authenticated-User: alice@example.com\r\n',
        ) +
        receivedPattern({ with: 'ESMTPSA', from: ALICE.login, tlsComment: '(authenticated bits=0)' }) +
        escape(clientHeader(sent)) +
        escape(`Original-${UPSTREAM}\r\n`) +
        '$',
    )
    assert.match(`${headerSection(msg.eml)}\r\n`, expected)
  })

  test('no forged copy survives under any name or spelling', () => {
    assert.ok(!headerSection(msg.eml).includes('ceo@example.com'), headerSection(msg.eml))
    assert.deepEqual(msg.headers('X-Auth-Stamp'), [])
  })

  test('the removed fields are counted in the results store (one line per message)', () => {
    assert.equal(
      resultsLine(msg.uuid),
      'removed: 17, removed_fields: x-authenticated-user=5,x-auth-stamp=2,original-authentication-results=8,authentication-results=2, pass:stamp(identity)',
    )
  })
})

describe('one session, two transactions, LOGIN on implicit TLS', () => {
  test('each message has one auth= resinfo with its own envelope sender', async () => {
    const c = await stack.smtps()
    assert.equal((await c.authLogin(ALICE.uid, ALICE.password)).code, 235)
    const sent: Message[] = []
    for (const from of ['alice@example.com', 'a.liddell@example.com']) {
      assert.equal((await c.mailFrom(from)).code, 250)
      assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
      const subject = `two-${from}-${Date.now()}`
      assert.equal((await c.data(message({ from, to: 'friend@remote.example', subject }))).code, 250)
      sent.push(await waitForMessage(stack.haraka.mailDir, (m) => m.eml.includes(subject)))
    }
    for (const [i, from] of ['alice@example.com', 'a.liddell@example.com'].entries()) {
      assert.ok(
        sent[i]!.eml.startsWith(
          'Authentication-Results: mail.example.com;\r\n' +
            `\tauth=pass (login) smtp.auth=alice smtp.mailfrom=${from}\r\n` +
            'X-Authenticated-User: alice\r\n' +
            'Received: ',
        ),
        headerSection(sent[i]!.eml),
      )
      assert.equal(headerSection(sent[i]!.eml).match(/[\s;]auth=/g)?.length, 1)
    }
  })
})

describe('unauthenticated mail', () => {
  test('inbound: no identity header, no A-R from us, every forged field stripped, byte for byte', async () => {
    const c = await stack.inbound()
    const subject = `inbound-${Date.now()}`
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    assert.equal((await c.rcptTo('alice@example.com')).code, 250)
    const sent = message({
      from: 'someone@remote.example',
      to: 'alice@example.com',
      subject,
      headers: [...FORGED, UPSTREAM],
    })
    assert.equal((await c.data(sent)).code, 250)
    const msg = await waitForMessage(stack.haraka.mailDir, (m) => m.eml.includes(subject))
    const expected = new RegExp(
      '^' +
        receivedPattern({ with: 'ESMTP', from: 'someone@remote.example' }) +
        escape(clientHeader(sent)) +
        escape(`Original-${UPSTREAM}\r\n`) +
        '$',
    )
    assert.match(`${headerSection(msg.eml)}\r\n`, expected)
    assert.equal(
      resultsLine(msg.uuid),
      'removed: 17, removed_fields: x-authenticated-user=5,x-auth-stamp=2,original-authentication-results=8,authentication-results=2, skip:stamp(unauthenticated)',
    )
  })
})

describe('field names a Java or PHP reader takes for ours (issue 10 item 1)', () => {
  // Java's InternetHeaders and PHP trim() the name (C0 controls go, JavaScript keeps them), Java's
  // equalsIgnoreCase folds U+017F to "s"; Haraka delivers these lines as they are.
  const MALFORMED = [
    'X-Authenticated-User\x1f: ceo@example.com',
    '\x01Authentication-Results: mail.example.com; auth=pass (plain) smtp.auth=ceo@example.com',
    'Authentication-Results\x00: mail.example.com; auth=pass (plain) smtp.auth=ceo@example.com',
    'X-Authenticated-User\x0b: ceo@example.com',
    'X-Authenticated-U\u017Fer: ceo@example.com',
    'X-Auth-Stamp\x7f: v=1; kid=k1; t=1800000000; u=ceo@example.com; f=ceo@example.com; s=' + FAKE_SIG,
  ]

  test('inbound: every field with a malformed name is gone from the delivered message, counted and logged', async () => {
    const c = await stack.inbound()
    const subject = `malformed-${Date.now()}`
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    assert.equal((await c.rcptTo('alice@example.com')).code, 250)
    const sent = message({
      from: 'someone@remote.example',
      to: 'alice@example.com',
      subject,
      headers: MALFORMED,
    })
    assert.equal((await c.data(sent)).code, 250)
    const msg = await waitForMessage(stack.haraka.mailDir, (m) => m.eml.includes(subject))
    let own = sent.slice(0, sent.indexOf('\r\n\r\n') + 2)
    for (const f of MALFORMED) own = own.replace(`${f}\r\n`, '')
    const expected = new RegExp(
      '^' + receivedPattern({ with: 'ESMTP', from: 'someone@remote.example' }) + escape(own) + '$',
    )
    assert.match(`${headerSection(msg.eml)}\r\n`, expected)
    assert.ok(!msg.eml.includes('ceo@example.com'), headerSection(msg.eml))
    assert.equal(resultsLine(msg.uuid), 'removed: 6, malformed_names: 6, skip:stamp(unauthenticated)')
    assert.match(
      stack.haraka.logs(),
      new RegExp(
        `\\[${escape(msg.uuid)}\\] \\[auth_stamp\\] removed 6 field\\(s\\) with a malformed name \\(not RFC 5322 ftext\\): ` +
          escape(
            '"X-Authenticated-User<U+001F>", "<U+0001>Authentication-Results", "Authentication-Results<U+0000>", "X-Authenticated-User<U+000B>", "X-Authenticated-U<U+017F>er", ...',
          ),
      ),
    )
  })
})
