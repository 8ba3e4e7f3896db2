// auth_relay with the optional policies switched on, on real Haraka and slapd:
// recipient verification, alias attributes (mailAlternateAddress, proxyAddresses),
// sub-addressing, [send_as] groups, header_alignment=add_sender, refusing
// unauthenticated local senders, a trusted AUTH= peer, and the per-session cache.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { waitForMessage } from '../harness/mail_sink'
import {
  ALICE,
  BOB,
  FIXTURE_DIR,
  message,
  startStack,
  waitForLog,
  type Stack,
  expectReply,
} from '../harness/stack'

const DAVE = { login: 'dave', password: 'red-dwarf-3' }
const SALES = 'cn=sales,ou=groups,dc=example,dc=com'

let stack: Stack
before(async () => {
  stack = await startStack({
    ldif: [path.join(FIXTURE_DIR, 'relay-policy.ldif')],
    schemas: [path.join(FIXTURE_DIR, 'directory-extras.schema')],
    ini: {
      'auth_relay.ini': {
        main: {
          verify_recipients: 'true',
          recipient_filter: '(|(mail=%u)(mailAlternateAddress=%u)(proxyAddresses=smtp:%u))',
          sender_attributes: 'mail,mailAlternateAddress,proxyAddresses',
          subaddress_separator: '+',
          header_alignment: 'add_sender',
          inbound_local_sender: 'refuse',
          mail_auth_peers: '127.0.0.0/8',
        },
        append: `[send_as]\nsales@example.com=${SALES}\nsupport@example.com=cn=support,ou=groups,dc=example,dc=com`,
      },
    },
  })
})
after(async () => {
  await stack?.stop()
})

async function loggedIn(login: string, password: string) {
  const c = await stack.submission()
  expectReply(await c.authPlain(login, password), 235)
  return c
}

describe('verify_recipients', () => {
  test('local recipients must have a directory entry (mail or an alias attribute): else 550 5.1.1', async () => {
    const c = await stack.inbound()
    expectReply(await c.mailFrom('someone@remote.example'), 250)
    expectReply(await c.rcptTo('alice@example.com'), 250)
    expectReply(await c.rcptTo('D.Lister@example.com'), 250)
    expectReply(await c.rcptTo('dave.proxy@example.com'), 250)
    expectReply(await c.rcptTo('nobody@example.com'), 550, '5.1.1', /^No such user here$/)
    await waitForLog(stack.haraka, 'RCPT "nobody@example.com" refused: no directory entry for this address')
    // filter injection stays inside the value
    expectReply(await c.rcptTo('*@example.com'), 550, '5.1.1')
  })

  test('postmaster is accepted without a directory entry', async () => {
    const c = await stack.inbound()
    expectReply(await c.mailFrom('someone@remote.example'), 250)
    expectReply(await c.rcptTo('postmaster@example.com'), 250)
    expectReply(await c.send('RCPT TO:<Postmaster>'), 250)
  })

  test('authenticated sessions are verified too', async () => {
    const c = await loggedIn(ALICE.login, ALICE.password)
    expectReply(await c.mailFrom(ALICE.login), 250)
    expectReply(await c.rcptTo('nobody@example.com'), 550, '5.1.1')
    expectReply(await c.rcptTo('friend@remote.example'), 250)
  })
})

describe('sender ownership with aliases, sub-addresses and send-as', () => {
  test('mail, mailAlternateAddress and smtp:/SMTP: proxyAddresses are owned; X500 and others are not', async () => {
    const c = await loggedIn(DAVE.login, DAVE.password)
    for (const [from, code] of [
      ['dave@example.com', 250],
      ['d.lister@example.com', 250],
      ['dave.proxy@example.com', 250],
      ['DAVE.PRIMARY@example.com', 250],
      ['dave+lists@example.com', 250],
      ['d.lister+x@example.com', 250],
      ['alice@example.com', 553],
      ['alice+dave@example.com', 553],
    ] as const) {
      expectReply(await c.mailFrom(from), code)
      await c.send('RSET')
    }
  })

  test('a member of the [send_as] group may send as the shared address; others may not', async () => {
    const alice = await loggedIn(ALICE.login, ALICE.password)
    expectReply(await alice.mailFrom('sales@example.com'), 250)
    await waitForLog(stack.haraka, `"alice@example.com" sends as "sales@example.com": member of ${SALES}`)
    await alice.send('RSET')
    expectReply(await alice.mailFrom('support@example.com'), 553, '5.7.1')

    const bob = await loggedIn(BOB.login, BOB.password)
    expectReply(await bob.mailFrom('sales@example.com'), 553, '5.7.1')
    await bob.send('RSET')
    // groupOfUniqueNames (uniqueMember) works as well
    expectReply(await bob.mailFrom('support@example.com'), 250)
  })

  test('the directory is read once per session for the login, not per message', async () => {
    const c = await loggedIn('erin', 'cached-once')
    for (let i = 0; i < 3; i++) {
      expectReply(await c.mailFrom('erin@example.com'), 250)
      await c.send('RSET')
    }
    // one search, ldap_auth's at AUTH: auth_relay takes the addresses from the entry it found
    const searches = () =>
      readFileSync(stack.slapd.logFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes('SRCH') && l.includes('(uid=erin)')).length
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(searches(), 1)
  })
})

describe('header_alignment=add_sender', () => {
  test("a From that is not the login's is delivered with the login's address as Sender; a client Sender (even in the obsolete \"sender :\" form that Haraka's parser skips) is removed", async () => {
    const c = await loggedIn(ALICE.login, ALICE.password)
    expectReply(await c.mailFrom(ALICE.login), 250)
    expectReply(await c.rcptTo('friend@remote.example'), 250)
    const subject = `add-sender-${Date.now()}`
    const r = await c.data(
      message({
        from: 'bob@example.com',
        to: 'friend@remote.example',
        subject,
        headers: ['sender : bob@example.com'],
      }),
    )
    expectReply(r, 250)
    const m = await waitForMessage(stack.haraka.mailDir, (msg) => msg.eml.includes(subject))
    assert.deepEqual(m.headers('sender'), ['alice@example.com'])
    assert.deepEqual(m.headers('from'), ['bob@example.com'])
    await waitForLog(
      stack.haraka,
      /Sender: "alice@example\.com" added for "alice@example\.com" \(removed 1 client Sender field\(s\)\): from not owned/,
    )
  })

  test('an aligned message is left alone; a send-as From is aligned', async () => {
    const c = await loggedIn(ALICE.login, ALICE.password)
    expectReply(await c.mailFrom('sales@example.com'), 250)
    expectReply(await c.rcptTo('friend@remote.example'), 250)
    const subject = `send-as-${Date.now()}`
    expectReply(
      await c.data(message({ from: 'Sales <sales@example.com>', to: 'friend@remote.example', subject })),
      250,
    )
    const m = await waitForMessage(stack.haraka.mailDir, (msg) => msg.eml.includes(subject))
    assert.deepEqual(m.headers('sender'), [])
  })

  test('the Sender added is the primary address: the SMTP: proxyAddresses value over the first listed one', async () => {
    const c = await loggedIn(DAVE.login, DAVE.password)
    expectReply(await c.mailFrom('dave@example.com'), 250)
    expectReply(await c.rcptTo('friend@remote.example'), 250)
    const subject = `primary-${Date.now()}`
    expectReply(
      await c.data(message({ from: 'carol@example.com', to: 'friend@remote.example', subject })),
      250,
    )
    const m = await waitForMessage(stack.haraka.mailDir, (msg) => msg.eml.includes(subject))
    assert.deepEqual(m.headers('sender'), ['Dave.Primary@example.com'])
  })
})

describe('a malformed header field name from an authenticated session (issue 10 item 1)', () => {
  test('From\\x00: bob (a Java reader\u2019s getFrom() is bob) is 550 5.7.1 with its reason, even with add_sender; nothing is stored; the session goes on', async () => {
    const c = await loggedIn(ALICE.login, ALICE.password)
    const stored = () => readdirSync(stack.haraka.mailDir).length
    const before = stored()
    for (const [i, field] of [
      'From\x00: bob@example.com',
      '\x01From: bob@example.com',
      '\u017Fender: bob@example.com',
    ].entries()) {
      expectReply(await c.mailFrom(ALICE.login), 250)
      expectReply(await c.rcptTo('friend@remote.example'), 250)
      const subject = `malformed-name-${i}-${Date.now()}`
      const r = await c.data(
        message({ from: ALICE.login, to: 'friend@remote.example', subject, headers: [field] }),
      )
      expectReply(
        r,
        550,
        '5.7.1',
        /^Malformed header field name \(RFC 5322 2\.2: printable ASCII only, then a colon\)$/,
      )
    }
    await waitForLog(
      stack.haraka,
      'message refused for "alice@example.com": malformed field name: "field name From<U+0000>"',
    )
    await waitForLog(
      stack.haraka,
      'message refused for "alice@example.com": malformed field name: "field name <U+017F>ender"',
    )
    assert.equal(stored(), before)
    // the same session still sends a well-formed message
    expectReply(await c.mailFrom(ALICE.login), 250)
    expectReply(await c.rcptTo('friend@remote.example'), 250)
    const subject = `well-formed-${Date.now()}`
    expectReply(await c.data(message({ from: ALICE.login, to: 'friend@remote.example', subject })), 250)
    await waitForMessage(stack.haraka.mailDir, (m) => m.eml.includes(subject))
  })
})

describe('unauthenticated senders', () => {
  test('inbound_local_sender=refuse: a local domain in MAIL FROM without AUTH is 550 5.7.1; others and <> pass', async () => {
    const c = await stack.inbound()
    expectReply(
      await c.mailFrom('alice@example.com'),
      550,
      '5.7.1',
      /^Sender in a local domain must authenticate$/,
    )
    await waitForLog(
      stack.haraka,
      /MAIL refused: "alice@example\.com" is in a local domain but 127\.0\.0\.1 did not authenticate/,
    )
    expectReply(await c.mailFrom('someone@remote.example'), 250)
    await c.send('RSET')
    expectReply(await c.mailFrom(''), 250)
  })

  test('AUTH=<mailbox> from a mail_auth_peers address is believed, and still does not open relaying', async () => {
    const c = await stack.inbound()
    expectReply(await c.mailFrom('someone@remote.example', 'AUTH=<alice@example.com>'), 250)
    await waitForLog(stack.haraka, 'AUTH=<alice@example.com> on MAIL FROM accepted (trusted_peer)')
    expectReply(await c.rcptTo('victim@elsewhere.example'), 550, '5.7.1')
  })
})

describe('directory outage during recipient verification', () => {
  test('451 4.4.3, never a silent accept; recovers when the directory is back', async () => {
    await stack.slapd.stop()
    try {
      const c = await stack.inbound()
      expectReply(await c.mailFrom('someone@remote.example'), 250)
      expectReply(await c.rcptTo('alice@example.com'), 451, '4.4.3')
      await waitForLog(stack.haraka, /RCPT "alice@example\.com": check failed/)
    } finally {
      await stack.slapd.start()
    }
    const c = await stack.inbound()
    expectReply(await c.mailFrom('someone@remote.example'), 250)
    expectReply(await c.rcptTo('alice@example.com'), 250)
  })
})

describe('subaddress_separator=. (reloaded last): another entry\u2019s address is never a sub-address', () => {
  const JOHN = { login: 'john', password: 'plain-john-1' }
  before(async () => {
    const ini = path.join(stack.haraka.dir, 'config', 'auth_relay.ini')
    const text = readFileSync(ini, 'utf8')
    assert.match(text, /^subaddress_separator=\+$/m)
    writeFileSync(ini, text.replace(/^subaddress_separator=\+$/m, 'subaddress_separator=.'))
    await waitForLog(
      stack.haraka,
      'auth_relay.ini: subaddress_separator=.: "." is common in ordinary addresses',
      10_000,
    )
  })

  test('MAIL FROM: john may not use john.smith@ (another user\u2019s address); john.lists@ is his; john.smith still may use his own', async () => {
    const c = await loggedIn(JOHN.login, JOHN.password)
    expectReply(await c.mailFrom('john.lists@example.com'), 250)
    await c.send('RSET')
    expectReply(await c.mailFrom('john.smith@example.com'), 553, '5.7.1')
    await waitForLog(
      stack.haraka,
      /MAIL refused for "john": "john\.smith@example\.com" is not one of its addresses \(another directory entry has it\)/,
    )
    await c.send('RSET')
    expectReply(await c.mailFrom('JOHN.Smith@Example.com'), 553, '5.7.1')
    const smith = await loggedIn('john.smith', 'plain-smith-2')
    expectReply(await smith.mailFrom('john.smith@example.com'), 250)
  })

  test('From: john.smith@ is not aligned for john (add_sender gives it john\u2019s Sender); From: john.lists@ is', async () => {
    const c = await loggedIn(JOHN.login, JOHN.password)
    for (const [from, sender] of [
      ['john.smith@example.com', ['john@example.com']],
      ['john.lists@example.com', []],
    ] as const) {
      expectReply(await c.mailFrom('john@example.com'), 250)
      expectReply(await c.rcptTo('friend@remote.example'), 250)
      const subject = `dot-${from}-${Date.now()}`
      expectReply(await c.data(message({ from, to: 'friend@remote.example', subject })), 250)
      const m = await waitForMessage(stack.haraka.mailDir, (msg) => msg.eml.includes(subject))
      assert.deepEqual(m.headers('sender'), sender, from)
    }
  })

  test('[send_as]: sales.team@ (an entry of its own) is not a sub-address of sales@; sales.q4@ is', async () => {
    const alice = await loggedIn(ALICE.login, ALICE.password)
    expectReply(await alice.mailFrom('sales.team@example.com'), 553, '5.7.1')
    await alice.send('RSET')
    expectReply(await alice.mailFrom('sales.q4@example.com'), 250)
  })

  test('directory down: a sub-address gets 451 4.4.3, even with the login\u2019s entry already read', async () => {
    const c = await loggedIn(JOHN.login, JOHN.password)
    expectReply(await c.mailFrom('john@example.com'), 250)
    await c.send('RSET')
    await stack.slapd.stop()
    try {
      expectReply(await c.mailFrom('john.news@example.com'), 451, '4.4.3')
    } finally {
      await stack.slapd.start()
    }
  })
})
