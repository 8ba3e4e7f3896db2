// lib/stamp/sign: the signed stamp, its canonical form, and every way a copy can be wrong.
import assert from 'node:assert/strict'
import { createHash, createHmac } from 'node:crypto'
import { inspect } from 'node:util'
import { describe, test } from 'node:test'
import { bodyHash } from '../../../lib/stamp/body'
import {
  canonicalInput,
  decodeTagValue,
  encodeTagValue,
  foldTags,
  messageFacts,
  signedHeaders,
  signingObstacle,
  stampTags,
  stampValue,
  StampKey,
  verifyMessage,
  verifyStamp,
  type StampFacts,
  type VerifiedMessage,
  type VerifyContext,
} from '../../../lib/stamp/sign'

const SECRET = 'correct-horse-battery-staple-0123456789'
const KEY = new StampKey('k2026', Buffer.from(SECRET))
const OLD = new StampKey('k2025', Buffer.from('the-previous-secret-of-32-bytes-at-least'))
const T = 1_800_000_000
const BODY = 'Shall we have lunch?\r\n'
const FIELDS = [
  'From: Alice <alice@example.com>\n',
  'To: bob@example.com\n',
  'Subject: lunch?\n',
  'Message-ID: <m1@client.example.net>\n',
  'Date: Tue, 01 Dec 2026 09:00:00 +0000\n',
]
const FACTS: StampFacts = {
  login: 'alice@example.com',
  mailFrom: 'alice@example.com',
  ...messageFacts(FIELDS, bodyHash(BODY)),
}
const CTX: VerifyContext = { keys: [KEY, OLD], now: T + 60, maxAge: 3600 }
/** The message facts verification computes from other fields and another body. */
const seen = (fields: readonly string[] = FIELDS, body = BODY) => ({
  headers: signedHeaders(fields),
  bodyHash: bodyHash(body),
})

function stamp(facts: StampFacts = FACTS, key = KEY, t = T): string {
  return stampValue('X-Auth-Stamp', key, facts, t)
}

describe('canonical form and MAC', () => {
  test('the MAC input is the documented JSON array', () => {
    const bh = createHash('sha256').update(BODY).digest('base64url')
    assert.equal(
      canonicalInput('k2026', T, FACTS),
      `["auth-stamp",2,"k2026",1800000000,"alice@example.com","alice@example.com","${bh}",` +
        '[["from",["Alice <alice@example.com>"]],["sender",[]],["reply-to",[]],["to",["bob@example.com"]],["cc",[]],' +
        '["subject",["lunch?"]],["date",["Tue, 01 Dec 2026 09:00:00 +0000"]],["message-id",["<m1@client.example.net>"]],' +
        '["in-reply-to",[]],["references",[]],["mime-version",[]],["content-type",[]],["content-transfer-encoding",[]]]]',
    )
  })

  test('s= is base64url HMAC-SHA256 of that input with the secret (computed independently)', () => {
    const tags = stampTags(KEY, FACTS, T)
    const expected = createHmac('sha256', SECRET)
      .update(canonicalInput('k2026', T, FACTS))
      .digest('base64url')
    assert.deepEqual(tags, [
      'v=2',
      'kid=k2026',
      `t=${T}`,
      'u=alice@example.com',
      'f=alice@example.com',
      `bh=${FACTS.bodyHash}`,
      `s=${expected}`,
    ])
  })

  test('field boundaries cannot shift: the same characters split differently give another MAC', () => {
    const a = canonicalInput('k', T, { ...FACTS, login: 'ab', mailFrom: 'c' })
    const b = canonicalInput('k', T, { ...FACTS, login: 'a', mailFrom: 'bc' })
    assert.notEqual(a, b)
    const c = canonicalInput('k', T, {
      ...FACTS,
      ...messageFacts([...FIELDS, 'To: <a>\n', 'To: <b>\n'], FACTS.bodyHash),
    })
    const d = canonicalInput('k', T, {
      ...FACTS,
      ...messageFacts([...FIELDS, 'To: <a>","<b>\n'], FACTS.bodyHash),
    })
    assert.notEqual(c, d)
  })

  test('the secret never shows in JSON or inspect', () => {
    assert.equal(JSON.stringify(KEY), '{"id":"k2026"}')
    assert.ok(!inspect(KEY, { showHidden: true, depth: 5 }).includes(SECRET))
    assert.ok(!JSON.stringify({ keys: [KEY] }).includes('battery'))
  })
})

describe('header text', () => {
  test('a stamp of a usual login is three lines of at most 78 characters', () => {
    const value = stamp()
    const lines = `X-Auth-Stamp: ${value}`.split('\r\n')
    assert.equal(lines.length, 3)
    assert.match(lines[0]!, /^X-Auth-Stamp: v=2; kid=k2026; t=1800000000; u=alice@example\.com;$/)
    assert.match(lines[1]!, /^\tf=alice@example\.com; bh=[A-Za-z0-9_-]{43};$/)
    assert.match(lines[2]!, /^\ts=[A-Za-z0-9_-]{43}$/)
  })

  test('a very long login folds inside its value and still verifies', () => {
    const login = `${'jörg-'.repeat(50)}@example.com`
    const facts = { ...FACTS, login }
    const value = stamp(facts)
    for (const line of `X-Auth-Stamp: ${value}`.split('\r\n')) assert.ok(line.length <= 78, line)
    const v = verifyStamp(value, seen(), CTX)
    assert.ok(v.valid, JSON.stringify(v))
    assert.equal(v.login, login)
  })

  test('refolding by a later hop does not matter', () => {
    const value = stamp()
      .replace('\r\n\t', ' ')
      .replace('\r\n\t', ' ')
      .replace('; s=', ';\r\n    s=')
      .replace('bh=', 'bh=\r\n ')
    assert.ok(verifyStamp(value, seen(), CTX).valid)
  })

  test('foldTags keeps short stamps on one line', () => {
    assert.equal(foldTags('X', ['a=1', 'b=2']), 'a=1; b=2')
  })

  test('tag values are percent-encoded UTF-8 and decode back', () => {
    for (const s of [
      'alice@example.com',
      'a;b c%d',
      'jörg@exämple.org',
      '"john doe"@example.com',
      'x=y',
      '',
    ]) {
      const enc = encodeTagValue(s)
      assert.match(enc, /^[A-Za-z0-9!#$&'*+\-./=?@^_`{|}~%]*$/)
      assert.equal(decodeTagValue(enc), s)
    }
    assert.equal(encodeTagValue('a;b c'), 'a%3Bb%20c')
    assert.equal(decodeTagValue('%FF'), undefined) // not UTF-8
    assert.equal(decodeTagValue('%4'), undefined)
    assert.equal(decodeTagValue('a;b'), undefined)
  })
})

describe('verification', () => {
  test('a fresh stamp verifies and reports kid, login, sender and time', () => {
    assert.deepEqual(verifyStamp(stamp(), seen(), CTX), {
      valid: true,
      kid: 'k2026',
      login: 'alice@example.com',
      mailFrom: 'alice@example.com',
      timestamp: T,
    })
  })

  test('rotation: a stamp signed with the previous key still verifies', () => {
    const v = verifyStamp(stamp(FACTS, OLD), seen(), CTX)
    assert.ok(v.valid)
    assert.equal(v.kid, 'k2025')
  })

  test('the null sender is signed as an empty f=', () => {
    const facts = { ...FACTS, mailFrom: '' }
    const value = stamp(facts)
    assert.match(value, /f=;/)
    assert.ok(verifyStamp(value, seen(), { ...CTX, mailFrom: '' }).valid)
  })

  const reason = (value: string, message: VerifiedMessage = seen(), ctx = CTX) => {
    const v = verifyStamp(value, message, ctx)
    return v.valid ? 'valid' : v.reason
  }
  /** FIELDS with the field named `name` replaced by `field` (or removed when undefined), or `field` added. */
  const withField = (name: string, field?: string) => {
    const i = FIELDS.findIndex((f) => f.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    const out = [...FIELDS]
    if (i < 0) out.push(field!)
    else if (field === undefined) out.splice(i, 1)
    else out[i] = field
    return out
  }

  test('each signed tag changed breaks the signature', () => {
    const value = stamp()
    assert.equal(reason(value.replace('u=alice@', 'u=bob@')), 'bad_signature')
    assert.equal(reason(value.replace('f=alice@', 'f=mallory@')), 'bad_signature')
    assert.equal(reason(value.replace(`t=${T}`, `t=${T + 1}`)), 'bad_signature')
    assert.equal(reason(value.replace('kid=k2026', 'kid=k2025')), 'bad_signature')
    const s = /s=([A-Za-z0-9_-]+)/.exec(value)![1]!
    const flipped = (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
    assert.equal(reason(value.replace(s, flipped)), 'bad_signature')
    // a bh= that matches another body does not help: bh is signed
    const other = bodyHash('Wire 1M now.\r\n')
    assert.equal(
      reason(value.replace(FACTS.bodyHash, other), seen(FIELDS, 'Wire 1M now.\r\n')),
      'bad_signature',
    )
  })

  test('a stamp moved onto another message of the same sender does not verify', () => {
    const value = stamp()
    const cases: Array<[string, readonly string[], string, string]> = [
      ['Subject changed', withField('subject', 'Subject: wire 1M now\n'), BODY, 'bad_signature'],
      ['To changed', withField('to', 'To: cfo@example.com\n'), BODY, 'bad_signature'],
      ['From changed', withField('from', 'From: ceo@example.com\n'), BODY, 'bad_signature'],
      ['Cc added', withField('cc', 'Cc: cfo@example.com\n'), BODY, 'bad_signature'],
      ['Reply-To added', withField('reply-to', 'Reply-To: mallory@evil.example\n'), BODY, 'bad_signature'],
      ['Sender added', withField('sender', 'Sender: ceo@example.com\n'), BODY, 'bad_signature'],
      ['Content-Type added', withField('content-type', 'Content-Type: text/html\n'), BODY, 'bad_signature'],
      ['Subject removed', withField('subject'), BODY, 'bad_signature'],
      ['second Subject', [...FIELDS, 'Subject: wire 1M now\n'], BODY, 'bad_signature'],
      [
        'Message-ID changed',
        withField('message-id', 'Message-ID: <m2@client.example.net>\n'),
        BODY,
        'bad_signature',
      ],
      ['Date changed', withField('date', 'Date: Wed, 02 Dec 2026 09:00:00 +0000\n'), BODY, 'bad_signature'],
      ['Date removed', withField('date'), BODY, 'bad_signature'],
      ['body changed', FIELDS, 'Wire 1M now.\r\n', 'body_hash_mismatch'],
      ['body extended', FIELDS, `${BODY}P.S. and 1M\r\n`, 'body_hash_mismatch'],
      [
        'the issue\u2019s message',
        ['From: ceo@example.com\n', 'Subject: wire 1M now\n', ...FIELDS.slice(3)],
        'Pay.\r\n',
        'bad_signature',
      ],
    ]
    for (const [what, fields, body, expected] of cases)
      assert.equal(reason(value, seen(fields, body)), expected, what)
    // unsigned fields and refolding do not matter
    assert.equal(
      reason(value, seen([...FIELDS, 'X-Mailer: something\n', 'Received: from a by b\n'])),
      'valid',
    )
    assert.equal(reason(value, seen(withField('subject', 'subject :\r\n\t lunch?\n'))), 'valid')
    assert.equal(
      reason(value, seen(FIELDS, 'Shall we have lunch?\n\n\n')),
      'valid',
      'LF line ends, trailing empty lines',
    )
  })

  test('the body could not be read: body_unreadable, never valid', () => {
    assert.equal(reason(stamp(), { headers: signedHeaders(FIELDS), bodyHash: undefined }), 'body_unreadable')
    // a forged stamp is still a bad signature first
    assert.equal(
      reason(stamp().replace('u=alice@', 'u=bob@'), { headers: signedHeaders(FIELDS), bodyHash: undefined }),
      'bad_signature',
    )
  })

  test('a version 1 stamp (Message-ID and Date only) is refused, even with the right key', () => {
    const v1input = JSON.stringify([
      'auth-stamp',
      1,
      'k2026',
      T,
      'alice@example.com',
      'alice@example.com',
      [],
      [],
    ])
    const s1 = createHmac('sha256', SECRET).update(v1input).digest('base64url')
    const v1 = `v=1; kid=k2026; t=${T}; u=alice@example.com; f=alice@example.com; s=${s1}`
    const v = verifyStamp(v1, seen(), CTX)
    assert.equal(v.valid, false)
    assert.equal((v as { reason: string }).reason, 'malformed') // v=1 has no bh=
    const withBh = `v=1; kid=k2026; t=${T}; u=alice@example.com; f=alice@example.com; bh=${FACTS.bodyHash}; s=${s1}`
    assert.deepEqual(verifyStamp(withBh, seen(), CTX), {
      valid: false,
      reason: 'unsupported_version',
      detail:
        'version "1" (version 1 covered neither the body nor From, To and Subject, and is no longer accepted)',
    })
  })

  test('wrong key with the right kid, and an unknown kid', () => {
    const impostor = new StampKey('k2026', Buffer.from('not-the-real-secret-but-long-enough!!'))
    assert.equal(reason(stamp(FACTS, impostor)), 'bad_signature')
    const stranger = new StampKey('k1999', Buffer.from(SECRET))
    assert.equal(reason(stamp(FACTS, stranger)), 'unknown_kid')
  })

  test('expired, from the future, and max_age 0 meaning no limit', () => {
    const value = stamp()
    assert.equal(reason(value, seen(), { ...CTX, now: T + 3601 }), 'expired')
    assert.equal(reason(value, seen(), { ...CTX, now: T + 3600 }), 'valid')
    assert.equal(reason(value, seen(), { ...CTX, now: T + 10 * 365 * 86400, maxAge: 0 }), 'valid')
    assert.equal(reason(value, seen(), { ...CTX, now: T - 301 }), 'future_timestamp')
    assert.equal(reason(value, seen(), { ...CTX, now: T - 300 }), 'valid')
  })

  test('the envelope sender must match when given (case-insensitively)', () => {
    const value = stamp()
    assert.equal(reason(value, seen(), { ...CTX, mailFrom: 'mallory@example.com' }), 'mailfrom_mismatch')
    assert.equal(reason(value, seen(), { ...CTX, mailFrom: 'Alice@Example.COM' }), 'valid')
    assert.equal(reason(value, seen(), { ...CTX, mailFrom: '' }), 'mailfrom_mismatch')
  })

  test('malformed stamps', () => {
    const value = stamp()
    const cases: Array<[string, string]> = [
      ['', 'malformed'],
      ['garbage', 'malformed'],
      [value.replace(/;\s*s=[^;]*$/, ''), 'malformed'], // s missing
      [`${value}; s=${'A'.repeat(43)}`, 'malformed'], // s twice
      [`${value}; x=1`, 'malformed'], // unknown tag
      [value.replace('v=2', 'v=3'), 'unsupported_version'],
      [value.replace(/bh=[A-Za-z0-9_-]+/, 'bh=short'), 'malformed'],
      [value.replace(/bh=[A-Za-z0-9_-]+;/, ''), 'malformed'], // bh missing
      [value.replace(`t=${T}`, 't=soon'), 'malformed'],
      [value.replace('kid=k2026', 'kid=k 2026'), 'malformed'],
      [value.replace('u=alice@example.com', 'u=al%ZZice'), 'malformed'],
      [value.replace('u=alice@example.com', 'u='), 'malformed'],
      [value.replace(/s=[A-Za-z0-9_-]+/, 's=tooshort'), 'malformed'],
    ]
    for (const [v, r] of cases) assert.equal(reason(v), r, v)
  })

  test('the detail of a malformed stamp shows no line separator, bidi or C1 control (it goes to the log)', () => {
    const v = verifyStamp('garbage\u2028forged line\u202Eevil\u009B', seen(), CTX)
    assert.equal(v.valid, false)
    const detail = (v as { detail: string }).detail
    assert.doesNotMatch(detail, /[\u2028\u202E\u009B]/u)
    assert.match(detail, /not a tag=value list \("garbage\?forged line\?evil\?"\)/)
  })

  test('a trailing semicolon is allowed', () => {
    assert.equal(reason(`${stamp()};`), 'valid')
  })
})

describe('signing needs one Message-ID and one Date', () => {
  test('signingObstacle names what is missing or doubled', () => {
    assert.equal(signingObstacle(FIELDS), undefined)
    const without = (name: string) => FIELDS.filter((f) => !f.toLowerCase().startsWith(name))
    assert.equal(signingObstacle(without('message-id')), 'no_message_id')
    assert.equal(signingObstacle(without('date')), 'no_date')
    assert.equal(signingObstacle(without('message-id').filter((f) => !f.startsWith('Date'))), 'no_message_id')
    assert.equal(
      signingObstacle([...without('message-id'), 'Message-ID:  \r\n\t\n']),
      'no_message_id',
      'an empty one counts as none',
    )
    assert.equal(signingObstacle([...without('date'), 'Date:\n']), 'no_date')
    assert.equal(signingObstacle([...FIELDS, 'message-id : <m2@x>\n']), 'several_message_ids')
    assert.equal(signingObstacle([...FIELDS, 'DATE: Wed, 02 Dec 2026 09:00:00 +0000\n']), 'several_dates')
  })

  test('stampTags refuses to sign without them, or without a body hash', () => {
    const noId = { ...FACTS, ...messageFacts(FIELDS.slice(0, 3), FACTS.bodyHash) }
    assert.throws(() => stampTags(KEY, noId, T), /refusing to sign a message with no message id/)
    assert.throws(() => stampTags(KEY, { ...FACTS, bodyHash: '' }, T), /refusing to sign without a body hash/)
  })
})

describe('verifyMessage: the stamp fields of a whole header', () => {
  const fields = (extra: string[]) => [
    'Received: from a by b\n',
    ...extra,
    'From: Alice <alice@example.com>\n',
    'To:  bob@example.com\n',
    'Subject: lunch?\n',
    'Message-ID: <m1@client.example.net>\n',
    'Date:  Tue, 01 Dec 2026\r\n\t09:00:00 +0000\n',
  ]
  const names = new Set(['x-auth-stamp'])
  const message = (extra: string[], body = BODY) => ({ fields: fields(extra), bodyHash: bodyHash(body) })

  test('signed fields are read unfolded and with white space collapsed', () => {
    assert.deepEqual(signedHeaders(fields([])), FACTS.headers)
  })

  test('exactly one stamp field: it is checked against the message', () => {
    const r = verifyMessage(message([`x-auth-STAMP : ${stamp()}\n`]), names, CTX)
    assert.ok(r.verdict.valid, JSON.stringify(r.verdict))
    assert.deepEqual(r.indexes, [1])
    const other = verifyMessage(message([`X-Auth-Stamp: ${stamp()}\n`], 'Other.\r\n'), names, CTX)
    assert.equal((other.verdict as { reason: string }).reason, 'body_hash_mismatch')
  })

  test('none, or several (even identical copies), do not verify', () => {
    assert.equal((verifyMessage(message([]), names, CTX).verdict as { reason: string }).reason, 'no_stamp')
    const one = `X-Auth-Stamp: ${stamp()}\n`
    const two = verifyMessage(message([one, one]), names, CTX)
    assert.equal((two.verdict as { reason: string }).reason, 'several_stamps')
    assert.deepEqual(two.indexes, [1, 2])
  })
})
