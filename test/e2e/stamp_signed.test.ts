// The signed stamp end to end: hop 1 (submission, sign mode, identity from the
// directory, login named in Received) stamps; `verify-stamp` checks what it
// delivered and tampered copies; hop 2 (a second Haraka in verify mode, with
// hop 1's key as its previous key) keeps a stamp that verifies and strips the rest.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash, createHmac } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { SmtpClient } from '../../demo/smtp_client'
import { messageFacts, StampKey, stampValue } from '../../lib/stamp/sign'
import { bodyHash, bodyOfRaw } from '../../lib/stamp/body'
import { headerFieldsOf } from '../../lib/mail/fields'
import { startHaraka, type HarakaInstance } from '../harness/haraka'
import { headerSection, waitForMessage, type Message } from '../harness/mail_sink'
import { ALICE, message, startStack, type Stack } from '../harness/stack'
import { escapeRe, receivedPattern, stampResults } from '../harness/stamp_checks'
import { REPO } from '../harness/paths'

const CLI = path.join(REPO, 'dist/bin/verify-stamp.js')
const HOP1_SECRET = 'hop1-secret-0123456789-abcdefghijkl'
const HOP2_SECRET = 'hop2-new-secret-9876543210-zyxwvuts'

/** The whole stamp field of a delivered message, folded lines included. */
const STAMP_FIELD = /X-Auth-Stamp: [^\r\n]*(?:\r\n[ \t][^\r\n]*)*\r\n/

const HOP1_INI = `[main]
identity_value=address
received_login=true
sign=true
key_id=hop1-2026
key_file=config/stamp.key
`
const HOP2_INI = `[main]
verify=true
key_id=hop1-2027
key=${HOP2_SECRET}
previous_key_id=hop1-2026
previous_key=${HOP1_SECRET}
`

let hop1: Stack
let hop2: HarakaInstance
let work: string

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'stamp-e2e-'))
  hop1 = await startStack({
    files: {
      'auth_stamp.ini': HOP1_INI,
      'stamp.key': `${HOP1_SECRET}\n`, // written 0644 on purpose: a warning at load
      // test-only: let the null sender and an odd local part through to the stamp; this file sends
      // alice's mail faster than containment's 30 messages a minute, so that budget is off here
      'auth_relay.ini':
        '[main]\nallow_null_sender=true\nenforce_sender=false\ncontain_messages_per_minute=0\n',
    },
  })
  hop2 = await startHaraka({
    ldapUrl: hop1.slapd.url,
    files: { 'auth_stamp.ini': HOP2_INI, me: 'hop2.example.com\n' },
  })
})
after(async () => {
  await hop2?.stop()
  await hop1?.stop()
  if (work) rmSync(work, { recursive: true, force: true })
})

async function submit(
  from: string,
  opts: { login?: string; beforeData?: () => Promise<void> } = {},
): Promise<Message> {
  const c = await hop1.submission()
  assert.equal((await c.authPlain(opts.login ?? ALICE.uid, ALICE.password)).code, 235)
  assert.equal((await c.mailFrom(from)).code, 250)
  assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
  await opts.beforeData?.()
  const subject = `signed-${Math.random().toString(36).slice(2)}`
  assert.equal(
    (
      await c.data(
        message({ from: from || 'mailer-daemon@example.com', to: 'friend@remote.example', subject }),
      )
    ).code,
    250,
  )
  c.close()
  return waitForMessage(hop1.haraka.mailDir, (m) => m.eml.includes(subject))
}

const SIGNED = [
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'subject',
  'date',
  'message-id',
  'in-reply-to',
  'references',
]
const SIGNED_MIME = ['mime-version', 'content-type', 'content-transfer-encoding']

/** The body hash and MAC the documentation promises, computed here without lib/stamp. */
function expectedStamp(
  secret: string,
  kid: string,
  t: number,
  login: string,
  mailFrom: string,
  eml: string,
): { bh: string; sig: string } {
  const head = headerSection(eml)
  const values = (name: string) =>
    [...head.matchAll(new RegExp(`^${name}:(.*(?:\\r\\n[ \\t].*)*)`, 'gim'))].map((m) =>
      m[1]!
        .replace(/\r\n/g, '')
        .replace(/[ \t]+/g, ' ')
        .trim(),
    )
  // DKIM simple body canonicalisation (RFC 6376 3.4.3) after making every line end CRLF
  const body = eml
    .slice(eml.indexOf('\r\n\r\n') + 4)
    .replace(/\r?\n/g, '\r\n')
    .replace(/(\r\n)*$/, '')
  const bh = createHash('sha256').update(`${body}\r\n`).digest('base64url')
  const headers = [...SIGNED, ...SIGNED_MIME].map((name) => [name, values(name)])
  const sig = createHmac('sha256', secret)
    .update(JSON.stringify(['auth-stamp', 2, kid, t, login, mailFrom, bh, headers]))
    .digest('base64url')
  return { bh, sig }
}

function verifyCli(eml: string, args: string[] = [], opts: { config?: string; cwd?: string } = {}) {
  const file = path.join(work, `${Math.random().toString(36).slice(2)}.eml`)
  writeFileSync(file, eml)
  const env = { ...process.env }
  delete env.INIT_CWD
  const r = spawnSync(
    process.execPath,
    [CLI, '--config', opts.config ?? path.join(hop1.haraka.dir, 'config/auth_stamp.ini'), ...args, file],
    { cwd: opts.cwd ?? hop1.haraka.dir, env, encoding: 'utf8' },
  )
  return { code: r.status, out: r.stdout, err: r.stderr }
}

describe('hop 1: sign mode', () => {
  let msg: Message
  before(async () => {
    msg = await submit(ALICE.login)
  })

  test('the delivered header, byte for byte: A-R, stamp, identity (primary address), Received naming the login', () => {
    const t = Number(/\bt=(\d+);/.exec(msg.eml)![1])
    const { bh, sig } = expectedStamp(HOP1_SECRET, 'hop1-2026', t, 'alice', 'alice@example.com', msg.eml)
    const top =
      'Authentication-Results: mail.example.com;\r\n' +
      '\tauth=pass (plain) smtp.auth=alice smtp.mailfrom=alice@example.com\r\n' +
      `X-Auth-Stamp: v=2; kid=hop1-2026; t=${t}; u=alice; f=alice@example.com;\r\n` +
      `\tbh=${bh};\r\n` +
      `\ts=${sig}\r\n` +
      'X-Authenticated-User: alice@example.com\r\n'
    const expected = new RegExp(
      `^${escapeRe(top)}${receivedPattern({ with: 'ESMTPSA', from: ALICE.login, tlsComment: '(authenticated user=alice bits=0)' })}From: `,
    )
    assert.match(msg.eml, expected)
    assert.ok(Math.abs(t - Date.now() / 1000) < 120, 'the stamp is dated now')
  })

  test('results: primary address, identity, signed', () => {
    assert.equal(
      stampResults(hop1.haraka.logs(), msg.uuid),
      'pass:address(primary), stamp(identity), stamp(signed)',
    )
  })

  test('load-time warnings: key file readable by others, login in Received', () => {
    assert.match(
      hop1.haraka.logs(),
      /auth_stamp\.ini: key_file: .*stamp\.key is readable by group or others \(mode 644\)/,
    )
    assert.match(hop1.haraka.logs(), /auth_stamp\.ini: received_login=true/)
    assert.ok(!hop1.haraka.logs().includes(HOP1_SECRET), 'the secret is never logged')
  })

  test('null sender: no smtp.mailfrom, an empty f=', async () => {
    const m = await submit('')
    assert.ok(
      m.eml.startsWith(
        'Authentication-Results: mail.example.com;\r\n\tauth=pass (plain) smtp.auth=alice\r\nX-Auth-Stamp: ',
      ),
      headerSection(m.eml),
    )
    assert.match(m.eml, /; f=;/)
    const r = verifyCli(m.eml, ['--mail-from', ''])
    assert.equal(r.code, 0, r.out + r.err)
    assert.match(r.out, /^valid: signed by kid=hop1-2026, login=alice, mailfrom=<>, at /)
  })

  test('an odd local part is quoted in A-R and percent-encoded in the stamp', async () => {
    const m = await submit('"odd one"@example.com')
    assert.ok(
      m.eml.startsWith(
        'Authentication-Results: mail.example.com;\r\n\tauth=pass (plain) smtp.auth=alice smtp.mailfrom="odd one"@example.com\r\n',
      ),
      headerSection(m.eml),
    )
    assert.match(m.eml, /f=%22odd%20one%22@example\.com;/)
    assert.equal(verifyCli(m.eml, ['--mail-from', '"odd one"@example.com']).code, 0)
  })

  test('directory down while stamping: the message goes through, stamped with the login, recorded', async () => {
    const m = await submit(ALICE.login, { beforeData: () => hop1.slapd.stop() })
    await hop1.slapd.start()
    assert.deepEqual(m.headers('X-Authenticated-User'), ['alice'])
    assert.equal(m.headers('X-Auth-Stamp').length, 1)
    assert.equal(
      stampResults(hop1.haraka.logs(), m.uuid),
      'pass:stamp(identity), stamp(signed), err:address(directory_unavailable)',
    )
    assert.match(hop1.haraka.logs(), /identity for "alice": directory unavailable \(.*\); stamping the login/)
  })

  describe('verify-stamp CLI', () => {
    test('valid on the delivered message', () => {
      const r = verifyCli(msg.eml)
      assert.equal(r.code, 0, r.out + r.err)
      assert.match(
        r.out,
        /^valid: signed by kid=hop1-2026, login=alice, mailfrom=alice@example\.com, at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/,
      )
      assert.equal(verifyCli(msg.eml, ['--mail-from', 'ALICE@example.com']).code, 0)
    })

    test('via npm run verify-stamp', () => {
      const file = path.join(work, 'npm.eml')
      writeFileSync(file, msg.eml)
      const r = spawnSync(
        'npm',
        [
          'run',
          '--silent',
          '--prefix',
          REPO,
          'verify-stamp',
          '--',
          '--config',
          'config/auth_stamp.ini',
          file,
        ],
        {
          cwd: hop1.haraka.dir,
          encoding: 'utf8',
          env: { ...process.env, INIT_CWD: hop1.haraka.dir },
        },
      )
      assert.equal(r.status, 0, r.stdout + r.stderr)
      assert.match(r.stdout, /^valid: signed by kid=hop1-2026/)
    })

    test('invalid, with the reason, on tampered copies', () => {
      const stampLine = STAMP_FIELD.exec(msg.eml)![0]
      const cases: Array<[string, string, RegExp]> = [
        [
          'Message-ID changed',
          msg.eml.replace(/Message-ID: <[^>]+>/, 'Message-ID: <forged@evil.example>'),
          /^invalid: bad_signature: /,
        ],
        [
          'Date changed',
          msg.eml.replace(/^Date: .*$/m, 'Date: Thu, 01 Jan 2099 00:00:00 +0000'),
          /^invalid: bad_signature: /,
        ],
        ['login changed', msg.eml.replace('u=alice;', 'u=bob;'), /^invalid: bad_signature: /],
        [
          'sender changed',
          msg.eml.replace('f=alice@example.com', 'f=bob@example.com'),
          /^invalid: bad_signature: /,
        ],
        [
          'Subject changed',
          msg.eml.replace(/^Subject: .*$/m, 'Subject: wire 1M now'),
          /^invalid: bad_signature: /,
        ],
        [
          'To changed',
          msg.eml.replace('To: friend@remote.example', 'To: cfo@remote.example'),
          /^invalid: bad_signature: /,
        ],
        ['body changed', msg.eml.replace('Hello.', 'Wire 1M now.'), /^invalid: body_hash_mismatch: /],
        [
          'second Message-ID',
          msg.eml.replace('\r\n\r\n', '\r\nMessage-ID: <two@x>\r\n\r\n'),
          /^invalid: bad_signature: /,
        ],
        ['stamp duplicated', msg.eml.replace(stampLine, stampLine + stampLine), /^invalid: several_stamps: /],
        ['stamp removed', msg.eml.replace(stampLine, ''), /^invalid: no_stamp: /],
        ['kid unknown', msg.eml.replace('kid=hop1-2026', 'kid=hop1-1999'), /^invalid: unknown_kid: /],
        ['garbage', msg.eml.replace(stampLine, 'X-Auth-Stamp: v=1; s=\r\n'), /^invalid: malformed: /],
      ]
      for (const [what, eml, expected] of cases) {
        const r = verifyCli(eml)
        assert.equal(r.code, 1, `${what}: ${r.out}${r.err}`)
        assert.match(r.out, expected, what)
      }
      const other = verifyCli(msg.eml, ['--mail-from', 'bob@example.com'])
      assert.equal(other.code, 1)
      assert.match(
        other.out,
        /^invalid: mailfrom_mismatch: stamp names sender <alice@example\.com>, envelope has <bob@example\.com>/,
      )
    })

    test('an old stamp is expired under max_age, valid with --max-age 0', () => {
      const key = new StampKey('hop1-2026', Buffer.from(HOP1_SECRET))
      const facts = {
        ...messageFacts(headerFieldsOf(msg.eml), bodyHash(bodyOfRaw(Buffer.from(msg.eml)))),
        login: 'alice',
        mailFrom: 'alice@example.com',
      }
      const old = `X-Auth-Stamp: ${stampValue('X-Auth-Stamp', key, facts, Math.floor(Date.now() / 1000) - 8 * 86400)}\r\n`
      const eml = msg.eml.replace(STAMP_FIELD, old)
      const r = verifyCli(eml)
      assert.equal(r.code, 1)
      assert.match(r.out, /^invalid: expired: \d+ s old, max_age is 604800 s/)
      assert.equal(verifyCli(eml, ['--max-age', '0']).code, 0)
    })

    test('the rotated verifier config (new key, hop 1 key as previous) accepts it too', () => {
      const r = verifyCli(msg.eml, [], { config: path.join(hop2.dir, 'config/auth_stamp.ini') })
      assert.equal(r.code, 0, r.out + r.err)
    })

    test('usage and configuration errors exit 2', () => {
      const env = { ...process.env }
      delete env.INIT_CWD
      const run = (args: string[]) =>
        spawnSync(process.execPath, [CLI, ...args], { cwd: REPO, env, encoding: 'utf8' })
      assert.equal(run([]).status, 2)
      assert.equal(run(['--bogus', 'x.eml']).status, 2)
      assert.equal(
        run(['--config', path.join(hop1.haraka.dir, 'config/auth_stamp.ini'), '/nonexistent.eml']).status,
        2,
      )
      const noKeys = run([path.join(work, 'npm.eml')]) // the shipped config has no key
      assert.equal(noKeys.status, 2)
      assert.match(noKeys.stderr, /has no key/)
      assert.equal(run(['--max-age', 'soon', 'x.eml']).status, 2)
      assert.equal(run(['--help']).status, 0)
    })
  })
})

/** Submit a raw message as alice on hop 1; the message hop 1 delivered. */
async function submitRaw(text: string, tag: string): Promise<Message> {
  const c = await hop1.submission()
  assert.equal((await c.authPlain(ALICE.uid, ALICE.password)).code, 235)
  assert.equal((await c.mailFrom(ALICE.login)).code, 250)
  assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
  assert.equal((await c.data(text)).code, 250)
  c.close()
  return waitForMessage(hop1.haraka.mailDir, (m) => m.eml.includes(tag))
}

/** A message as a client that writes neither Message-ID nor Date sends it. */
function bare(tag: string): string {
  return [
    'From: alice@example.com',
    'To: friend@remote.example',
    'Subject: lunch?',
    `X-Test-Tag: ${tag}`,
    '',
    'Shall we have lunch?',
    '.a line that starts with a dot',
    '',
    '',
  ].join('\r\n')
}

describe('hop 1: a submission without Message-ID and Date', () => {
  let a: Message
  before(async () => {
    a = await submitRaw(bare('bare-a'), 'bare-a')
  })

  test('hop 1 adds a Date and its own Message-ID, then signs over them: verify-stamp says valid', async () => {
    const ids = a.headers('Message-ID')
    assert.equal(ids.length, 1, headerSection(a.eml))
    assert.match(ids[0]!, /^<[0-9a-z]+\.[0-9a-f]{32}@mail\.example\.com>$/)
    const dates = a.headers('Date')
    assert.equal(dates.length, 1)
    assert.match(dates[0]!, /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/)
    assert.ok(Math.abs(Date.parse(dates[0]!) - Date.now()) < 120_000, 'dated now')
    assert.match(
      a.eml,
      /\r\nX-Test-Tag: bare-a\r\nDate: [^\r\n]+\r\nMessage-ID: <[^>]+>\r\n\r\nShall we have lunch\?\r\n\.a line/,
    )
    const r = verifyCli(a.eml)
    assert.equal(r.code, 0, r.out + r.err)
    assert.match(r.out, /^valid: signed by kid=hop1-2026, login=alice, mailfrom=alice@example\.com, at /)
    assert.equal(
      stampResults(hop1.haraka.logs(), a.uuid),
      'pass:stamp(date_added), stamp(message_id_added), address(primary), stamp(identity), stamp(signed)',
    )
    assert.match(
      hop1.haraka.logs(),
      new RegExp(
        `\\[${escapeRe(a.uuid)}\\] \\[auth_stamp\\] added Date: ${escapeRe(dates[0]!)}, Message-ID: ${escapeRe(ids[0]!)} \\(missing\\)`,
      ),
    )
    const again = await submitRaw(bare('bare-b'), 'bare-b')
    assert.notEqual(again.headers('Message-ID')[0], ids[0], 'every message its own Message-ID')
  })

  test('its stamp fits no other message of that sender (the issue\u2019s reproduction)', () => {
    const b = a.eml
      .replace('From: alice@example.com', 'From: ceo@example.com')
      .replace('Subject: lunch?', 'Subject: wire 1M now')
      .replace('Shall we have lunch?', 'Wire 1M to the usual account now.')
    const cases: Array<[string, string, RegExp]> = [
      ['the issue\u2019s message B', b, /^invalid: bad_signature: /],
      [
        'B as sent, without Message-ID and Date',
        b.replace(/^Date: .*\r\n/m, '').replace(/^Message-ID: .*\r\n/m, ''),
        /^invalid: bad_signature: /,
      ],
      [
        'From changed',
        a.eml.replace('From: alice@example.com', 'From: ceo@example.com'),
        /^invalid: bad_signature: /,
      ],
      [
        'To changed',
        a.eml.replace('To: friend@remote.example', 'To: cfo@remote.example'),
        /^invalid: bad_signature: /,
      ],
      [
        'Subject changed',
        a.eml.replace('Subject: lunch?', 'Subject: wire 1M now'),
        /^invalid: bad_signature: /,
      ],
      [
        'Cc added',
        a.eml.replace('Subject: lunch?', 'Subject: lunch?\r\nCc: cfo@remote.example'),
        /^invalid: bad_signature: /,
      ],
      [
        'body changed',
        a.eml.replace('Shall we have lunch?', 'Wire 1M now.'),
        /^invalid: body_hash_mismatch: /,
      ],
      ['dot line changed', a.eml.replace('\r\n.a line', '\r\n..a line'), /^invalid: body_hash_mismatch: /],
      ['body appended', `${a.eml}P.S. and 1M to me\r\n`, /^invalid: body_hash_mismatch: /],
    ]
    for (const [what, eml, expected] of cases) {
      const r = verifyCli(eml)
      assert.equal(r.code, 1, `${what}: ${r.out}${r.err}`)
      assert.match(r.out, expected, what)
    }
  })

  test('line ends made LF, refolded stamp, empty lines added at the end: still valid', () => {
    const stamp = STAMP_FIELD.exec(a.eml)![0]
    const copies = [
      a.eml.replace(/\r\n/g, '\n'),
      `${a.eml}\r\n\r\n`,
      a.eml.replace(stamp, stamp.replace(/\r\n\t/g, ' ').replace(/ s=/, '\r\n  s=')),
    ]
    for (const eml of copies) {
      const r = verifyCli(eml)
      assert.equal(r.code, 0, r.out + r.err)
    }
  })
})

describe('hop 2: a second Haraka in verify mode', () => {
  let signed: Message
  let relay: SmtpClient
  before(async () => {
    signed = await submit(ALICE.login)
    relay = await SmtpClient.connect({ port: hop2.ports.inbound })
    await relay.ehlo('client.example.net')
  })
  after(() => relay?.close())

  /** Relay a message to hop 2 as hop 1 would (no AUTH), return what hop 2 delivered. */
  async function relayToHop2(eml: string, mailFrom = ALICE.login): Promise<Message> {
    const tag = `relay-${Math.random().toString(36).slice(2)}`
    assert.equal((await relay.mailFrom(mailFrom)).code, 250)
    assert.equal((await relay.rcptTo('bob@example.com')).code, 250)
    assert.equal((await relay.data(eml.replace('\r\n\r\n', `\r\nX-Test-Tag: ${tag}\r\n\r\n`))).code, 250)
    return waitForMessage(hop2.mailDir, (m) => m.eml.includes(tag))
  }

  test('a stamp that verifies is kept as it was; the identity header is rewritten from it', async () => {
    const got = await relayToHop2(signed.eml)
    const stampField = STAMP_FIELD.exec(signed.eml)![0]
    assert.match(
      got.eml,
      new RegExp(
        `^X-Authenticated-User: alice\\r\\n${receivedPattern({ by: 'hop2.example.com', with: 'ESMTP', from: ALICE.login })}`,
      ),
    )
    assert.ok(got.eml.includes(stampField), 'hop 1 stamp kept byte for byte')
    assert.deepEqual(got.headers('X-Authenticated-User'), ['alice'], 'hop 1 identity header replaced')
    assert.equal(
      stampResults(hop2.logs(), got.uuid),
      'removed: 1, removed_fields: x-authenticated-user=1, pass:verify(valid), stamp(identity_from_stamp)',
    )
  })

  test('a stamp that does not verify is stripped, with the reason, and nobody is stamped', async () => {
    const stampLine = STAMP_FIELD.exec(signed.eml)![0]
    const rogue = new StampKey('hop1-2026', Buffer.from('a-rogue-key-that-is-long-enough-too'))
    const facts = {
      ...messageFacts(headerFieldsOf(signed.eml), bodyHash(bodyOfRaw(Buffer.from(signed.eml)))),
      login: 'ceo@example.com',
      mailFrom: ALICE.login,
    }
    const forged = `X-Auth-Stamp: ${stampValue('X-Auth-Stamp', rogue, facts, Math.floor(Date.now() / 1000))}\r\n`
    const cases: Array<[string, string, string, string]> = [
      [
        'Message-ID changed',
        signed.eml.replace(/Message-ID: <[^>]+>/, 'Message-ID: <other@evil.example>'),
        ALICE.login,
        'bad_signature',
      ],
      [
        'Subject changed',
        signed.eml.replace(/^Subject: .*$/m, 'Subject: wire 1M now'),
        ALICE.login,
        'bad_signature',
      ],
      ['body changed', signed.eml.replace('Hello.', 'Wire 1M now.'), ALICE.login, 'body_hash_mismatch'],
      ['login changed', signed.eml.replace('u=alice;', 'u=carol;'), ALICE.login, 'bad_signature'],
      ['forged with another key', signed.eml.replace(stampLine, forged), ALICE.login, 'bad_signature'],
      ['envelope sender differs', signed.eml, 'mallory@remote.example', 'mailfrom_mismatch'],
      [
        'stamp duplicated',
        signed.eml.replace(stampLine, stampLine + stampLine),
        ALICE.login,
        'several_stamps',
      ],
      ['unknown kid', signed.eml.replace('kid=hop1-2026', 'kid=rogue'), ALICE.login, 'unknown_kid'],
    ]
    for (const [what, eml, from, reason] of cases) {
      const got = await relayToHop2(eml, from)
      const head = headerSection(got.eml)
      assert.ok(!/x-auth-stamp/i.test(head), `${what}: stamp not stripped\n${head}`)
      assert.ok(!/x-authenticated-user/i.test(head), `${what}: identity header present\n${head}`)
      assert.match(
        stampResults(hop2.logs(), got.uuid),
        new RegExp(`fail:verify\\(${reason}\\), skip:stamp\\(unauthenticated\\)$`),
        what,
      )
      assert.match(
        hop2.logs(),
        new RegExp(`\\[${escapeRe(got.uuid)}\\] \\[auth_stamp\\] stamp removed: ${reason}: `),
        what,
      )
    }
  })

  test('a reload to identity_value=address opens the directory: the stamp\u2019s login is looked up', async () => {
    writeFileSync(path.join(hop2.dir, 'config/auth_stamp.ini'), `${HOP2_INI}identity_value=address\n`)
    const deadline = Date.now() + 10_000
    let got: Message
    do {
      await sleep(200)
      got = await relayToHop2(signed.eml)
    } while (got.headers('X-Authenticated-User')[0] !== 'alice@example.com' && Date.now() < deadline)
    assert.deepEqual(got.headers('X-Authenticated-User'), ['alice@example.com'])
    assert.equal(
      stampResults(hop2.logs(), got.uuid),
      'removed: 1, removed_fields: x-authenticated-user=1, pass:verify(valid), address(primary), stamp(identity_from_stamp)',
    )
    assert.match(hop2.logs(), /\[auth_stamp\] directory: /)
  })

  test('verify_peers: a stamp from a peer not in the list is stripped (untrusted_peer); from a listed peer it is kept', async () => {
    assert.match(
      hop2.logs(),
      /auth_stamp\.ini: verify=true with verify_peers empty: a stamp from any unauthenticated peer is checked/,
    )
    const ini = path.join(hop2.dir, 'config/auth_stamp.ini')
    // hop 2 sees this test's client as 127.0.0.1
    writeFileSync(ini, `${HOP2_INI}identity_value=address\nverify_peers=192.0.2.0/24\n`)
    const deadline = Date.now() + 10_000
    let got: Message
    do {
      await sleep(200)
      got = await relayToHop2(signed.eml)
    } while (/x-auth-stamp/i.test(headerSection(got.eml)) && Date.now() < deadline)
    const head = headerSection(got.eml)
    assert.ok(!/x-auth-stamp/i.test(head), `stamp not stripped\n${head}`)
    assert.ok(!/x-authenticated-user/i.test(head), `identity header present\n${head}`)
    assert.equal(
      stampResults(hop2.logs(), got.uuid),
      'removed: 2, removed_fields: x-auth-stamp=1,x-authenticated-user=1, fail:verify(untrusted_peer), skip:stamp(unauthenticated)',
    )
    assert.match(
      hop2.logs(),
      new RegExp(
        `\\[${escapeRe(got.uuid)}\\] \\[auth_stamp\\] stamp removed: untrusted_peer: peer 127\\.0\\.0\\.1 is not in verify_peers`,
      ),
    )

    writeFileSync(ini, `${HOP2_INI}identity_value=address\nverify_peers=192.0.2.0/24,127.0.0.0/8\n`)
    const again = Date.now() + 10_000
    do {
      await sleep(200)
      got = await relayToHop2(signed.eml)
    } while (!/x-auth-stamp/i.test(headerSection(got.eml)) && Date.now() < again)
    assert.deepEqual(got.headers('X-Authenticated-User'), ['alice@example.com'])
    assert.match(
      stampResults(hop2.logs(), got.uuid),
      /pass:verify\(valid\), address\(primary\), stamp\(identity_from_stamp\)$/,
    )
  })
})

describe('hop 1 with add_date_message_id=false', () => {
  after(() => writeFileSync(path.join(hop1.haraka.dir, 'config/auth_stamp.ini'), HOP1_INI))

  test('a message without Message-ID and Date is delivered unsigned, and that is recorded and logged', async () => {
    writeFileSync(
      path.join(hop1.haraka.dir, 'config/auth_stamp.ini'),
      `${HOP1_INI}add_date_message_id=false\n`,
    )
    const deadline = Date.now() + 10_000
    let got: Message
    let n = 0
    do {
      await sleep(200)
      const tag = `off-${n++}`
      got = await submitRaw(bare(tag), tag)
    } while (got.headers('Message-ID').length && Date.now() < deadline)
    assert.deepEqual(got.headers('Message-ID'), [])
    assert.deepEqual(got.headers('Date'), [])
    assert.deepEqual(got.headers('X-Auth-Stamp'), [], 'not signed')
    assert.deepEqual(got.headers('X-Authenticated-User'), ['alice@example.com'])
    assert.equal(
      stampResults(hop1.haraka.logs(), got.uuid),
      'pass:address(primary), stamp(identity), fail:sign(no_message_id)',
    )
    assert.match(
      hop1.haraka.logs(),
      new RegExp(
        `\\[${escapeRe(got.uuid)}\\] \\[auth_stamp\\] not signed: the message has no Message-ID \\(add_date_message_id=false\\)`,
      ),
    )
    assert.match(
      hop1.haraka.logs(),
      /auth_stamp\.ini: sign=true with add_date_message_id=false: a message that lacks Message-ID or Date is not signed/,
    )
  })
})
