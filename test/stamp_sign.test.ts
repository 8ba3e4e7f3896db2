// lib/stamp/sign: the signed stamp, its canonical form, and every way a copy can be wrong.
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { inspect } from 'node:util'
import { describe, test } from 'node:test'
import {
  canonicalInput,
  decodeTagValue,
  encodeTagValue,
  foldTags,
  messageFacts,
  stampTags,
  stampValue,
  StampKey,
  verifyMessage,
  verifyStamp,
  type StampFacts,
  type VerifyContext,
} from '../lib/stamp/sign'

const SECRET = 'correct-horse-battery-staple-0123456789'
const KEY = new StampKey('k2026', Buffer.from(SECRET))
const OLD = new StampKey('k2025', Buffer.from('the-previous-secret-of-32-bytes-at-least'))
const T = 1_800_000_000
const FACTS: StampFacts = {
  login: 'alice@example.com',
  mailFrom: 'alice@example.com',
  messageIds: ['<m1@client.example.net>'],
  dates: ['Tue, 01 Dec 2026 09:00:00 +0000'],
}
const CTX: VerifyContext = { keys: [KEY, OLD], now: T + 60, maxAge: 3600 }

function stamp(facts: StampFacts = FACTS, key = KEY, t = T): string {
  return stampValue('X-Auth-Stamp', key, facts, t)
}

describe('canonical form and MAC', () => {
  test('the MAC input is the documented JSON array', () => {
    assert.equal(
      canonicalInput('k2026', T, FACTS),
      '["auth-stamp",1,"k2026",1800000000,"alice@example.com","alice@example.com",["<m1@client.example.net>"],["Tue, 01 Dec 2026 09:00:00 +0000"]]',
    )
  })

  test('s= is base64url HMAC-SHA256 of that input with the secret (computed independently)', () => {
    const tags = stampTags(KEY, FACTS, T)
    const expected = createHmac('sha256', SECRET).update(canonicalInput('k2026', T, FACTS)).digest('base64url')
    assert.deepEqual(tags, ['v=1', 'kid=k2026', `t=${T}`, 'u=alice@example.com', 'f=alice@example.com', `s=${expected}`])
  })

  test('field boundaries cannot shift: the same characters split differently give another MAC', () => {
    const a = canonicalInput('k', T, { ...FACTS, login: 'ab', mailFrom: 'c' })
    const b = canonicalInput('k', T, { ...FACTS, login: 'a', mailFrom: 'bc' })
    assert.notEqual(a, b)
    const c = canonicalInput('k', T, { ...FACTS, messageIds: ['<a>', '<b>'] })
    const d = canonicalInput('k', T, { ...FACTS, messageIds: ['<a>","<b>'] })
    assert.notEqual(c, d)
  })

  test('the secret never shows in JSON or inspect', () => {
    assert.equal(JSON.stringify(KEY), '{"id":"k2026"}')
    assert.ok(!inspect(KEY, { showHidden: true, depth: 5 }).includes(SECRET))
    assert.ok(!JSON.stringify({ keys: [KEY] }).includes('battery'))
  })
})

describe('header text', () => {
  test('a stamp of a usual login is two lines of at most 78 characters', () => {
    const value = stamp()
    const lines = `X-Auth-Stamp: ${value}`.split('\r\n')
    assert.equal(lines.length, 2)
    assert.match(lines[0]!, /^X-Auth-Stamp: v=1; kid=k2026; t=1800000000; u=alice@example\.com;$/)
    assert.match(lines[1]!, /^\tf=alice@example\.com; s=[A-Za-z0-9_-]{43}$/)
  })

  test('a very long login folds inside its value and still verifies', () => {
    const login = `${'jörg-'.repeat(50)}@example.com`
    const facts = { ...FACTS, login }
    const value = stamp(facts)
    for (const line of `X-Auth-Stamp: ${value}`.split('\r\n')) assert.ok(line.length <= 78, line)
    const v = verifyStamp(value, facts, CTX)
    assert.ok(v.valid, JSON.stringify(v))
    assert.equal(v.login, login)
  })

  test('refolding by a later hop does not matter', () => {
    const value = stamp().replace('\r\n\t', ' ').replace('; s=', ';\r\n    s=')
    assert.ok(verifyStamp(value, FACTS, CTX).valid)
  })

  test('foldTags keeps short stamps on one line', () => {
    assert.equal(foldTags('X', ['a=1', 'b=2']), 'a=1; b=2')
  })

  test('tag values are percent-encoded UTF-8 and decode back', () => {
    for (const s of ['alice@example.com', 'a;b c%d', 'jörg@exämple.org', '"john doe"@example.com', 'x=y', '']) {
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
    assert.deepEqual(verifyStamp(stamp(), FACTS, CTX), {
      valid: true,
      kid: 'k2026',
      login: 'alice@example.com',
      mailFrom: 'alice@example.com',
      timestamp: T,
    })
  })

  test('rotation: a stamp signed with the previous key still verifies', () => {
    const v = verifyStamp(stamp(FACTS, OLD), FACTS, CTX)
    assert.ok(v.valid)
    assert.equal(v.kid, 'k2025')
  })

  test('the null sender is signed as an empty f=', () => {
    const facts = { ...FACTS, mailFrom: '' }
    const value = stamp(facts)
    assert.match(value, /f=;/)
    assert.ok(verifyStamp(value, facts, { ...CTX, mailFrom: '' }).valid)
  })

  const reason = (value: string, facts = FACTS, ctx = CTX) => {
    const v = verifyStamp(value, facts, ctx)
    return v.valid ? 'valid' : v.reason
  }

  test('each signed field changed breaks the signature', () => {
    const value = stamp()
    assert.equal(reason(value.replace('u=alice@', 'u=bob@')), 'bad_signature')
    assert.equal(reason(value.replace('f=alice@', 'f=mallory@')), 'bad_signature')
    assert.equal(reason(value.replace(`t=${T}`, `t=${T + 1}`)), 'bad_signature')
    assert.equal(reason(value.replace('kid=k2026', 'kid=k2025')), 'bad_signature')
    assert.equal(reason(value, { ...FACTS, messageIds: ['<m2@client.example.net>'] }), 'bad_signature')
    assert.equal(reason(value, { ...FACTS, dates: ['Wed, 02 Dec 2026 09:00:00 +0000'] }), 'bad_signature')
    assert.equal(reason(value, { ...FACTS, messageIds: [...FACTS.messageIds, '<extra@x>'] }), 'bad_signature')
    assert.equal(reason(value, { ...FACTS, dates: [] }), 'bad_signature')
    const s = /s=([A-Za-z0-9_-]+)/.exec(value)![1]!
    const flipped = (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
    assert.equal(reason(value.replace(s, flipped)), 'bad_signature')
  })

  test('wrong key with the right kid, and an unknown kid', () => {
    const impostor = new StampKey('k2026', Buffer.from('not-the-real-secret-but-long-enough!!'))
    assert.equal(reason(stamp(FACTS, impostor)), 'bad_signature')
    const stranger = new StampKey('k1999', Buffer.from(SECRET))
    assert.equal(reason(stamp(FACTS, stranger)), 'unknown_kid')
  })

  test('expired, from the future, and max_age 0 meaning no limit', () => {
    const value = stamp()
    assert.equal(reason(value, FACTS, { ...CTX, now: T + 3601 }), 'expired')
    assert.equal(reason(value, FACTS, { ...CTX, now: T + 3600 }), 'valid')
    assert.equal(reason(value, FACTS, { ...CTX, now: T + 10 * 365 * 86400, maxAge: 0 }), 'valid')
    assert.equal(reason(value, FACTS, { ...CTX, now: T - 301 }), 'future_timestamp')
    assert.equal(reason(value, FACTS, { ...CTX, now: T - 300 }), 'valid')
  })

  test('the envelope sender must match when given (case-insensitively)', () => {
    const value = stamp()
    assert.equal(reason(value, FACTS, { ...CTX, mailFrom: 'mallory@example.com' }), 'mailfrom_mismatch')
    assert.equal(reason(value, FACTS, { ...CTX, mailFrom: 'Alice@Example.COM' }), 'valid')
    assert.equal(reason(value, FACTS, { ...CTX, mailFrom: '' }), 'mailfrom_mismatch')
  })

  test('malformed stamps', () => {
    const value = stamp()
    const cases: Array<[string, string]> = [
      ['', 'malformed'],
      ['garbage', 'malformed'],
      [value.replace(/; s=[^;]*$/, ''), 'malformed'], // s missing
      [`${value}; s=${'A'.repeat(43)}`, 'malformed'], // s twice
      [`${value}; x=1`, 'malformed'], // unknown tag
      [value.replace('v=1', 'v=2'), 'unsupported_version'],
      [value.replace(`t=${T}`, 't=soon'), 'malformed'],
      [value.replace('kid=k2026', 'kid=k 2026'), 'malformed'],
      [value.replace('u=alice@example.com', 'u=al%ZZice'), 'malformed'],
      [value.replace('u=alice@example.com', 'u='), 'malformed'],
      [value.replace(/s=[A-Za-z0-9_-]+/, 's=tooshort'), 'malformed'],
    ]
    for (const [v, r] of cases) assert.equal(reason(v), r, v)
  })

  test('a trailing semicolon is allowed', () => {
    assert.equal(reason(`${stamp()};`), 'valid')
  })
})

describe('verifyMessage: the stamp fields of a whole header', () => {
  const fields = (extra: string[]) => [
    'Received: from a by b\n',
    ...extra,
    'Message-ID: <m1@client.example.net>\n',
    'Date:  Tue, 01 Dec 2026\r\n\t09:00:00 +0000\n',
  ]
  const names = new Set(['x-auth-stamp'])

  test('Message-ID and Date are read unfolded and with white space collapsed', () => {
    assert.deepEqual(messageFacts(fields([])), { messageIds: FACTS.messageIds, dates: FACTS.dates })
  })

  test('exactly one stamp field: it is checked against the message', () => {
    const r = verifyMessage(fields([`x-auth-STAMP : ${stamp()}\n`]), names, CTX)
    assert.ok(r.verdict.valid, JSON.stringify(r.verdict))
    assert.deepEqual(r.indexes, [1])
  })

  test('none, or several (even identical copies), do not verify', () => {
    assert.equal((verifyMessage(fields([]), names, CTX).verdict as { reason: string }).reason, 'no_stamp')
    const one = `X-Auth-Stamp: ${stamp()}\n`
    const two = verifyMessage(fields([one, one]), names, CTX)
    assert.equal((two.verdict as { reason: string }).reason, 'several_stamps')
    assert.deepEqual(two.indexes, [1, 2])
  })
})
