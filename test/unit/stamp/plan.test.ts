// lib/stamp/plan: what auth_stamp removes, keeps and adds on one message.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseStampConfig, type StampConfig } from '../../../lib/stamp/config'
import { bodyHash } from '../../../lib/stamp/body'
import {
  messageFacts,
  signedHeaders,
  stampValue,
  StampKey,
  verifyStamp,
  type Verdict,
} from '../../../lib/stamp/sign'
import {
  headersToAdd,
  inspectMessage,
  malformedFieldsNote,
  missingSubmissionFields,
  newMessageId,
  rfc5322Date,
  signPlan,
  verifyNeedsBody,
  type MessageContext,
} from '../../../lib/stamp/plan'
import { stampDecision, StampSummary, verifyDecision } from '../../../lib/stamp/results'
import { resultOf } from '../../harness/results'

const SECRET = 'plan-test-secret-of-at-least-32-bytes'
/** The results entry of the verify-mode decision on a verdict. */
const verdictLabel = (v: Verdict) => resultOf(verifyDecision(v))
const NOW = 1_800_000_000

function config(main: Record<string, unknown> = {}): StampConfig {
  const r = parseStampConfig({ main })
  if (!r.ok) throw new Error(r.errors.join('; '))
  return r.cfg
}
const SIGN = config({ sign: true, key_id: 'k1', key: SECRET })
const VERIFY = config({ verify: true, key_id: 'k1', key: SECRET })

const BASE = [
  'Received: from upstream\n',
  'From: alice@example.com\n',
  'Message-ID: <m1@example.com>\n',
  'Date: Tue, 01 Dec 2026 09:00:00 +0000\n',
]
const UPSTREAM_AR = 'Authentication-Results: mx.other.example; spf=pass smtp.mailfrom=example.com\n'
const FORGED = [
  'X-Authenticated-User: ceo@example.com\n',
  'x-authenticated-user : ceo@example.com\n',
  'X-Authenticated-User:\r\n\tceo@example.com\n',
  'Authentication-Results: mail.example.com; auth=pass smtp.auth=ceo@example.com\n',
  'Original-Authentication-Results: mail.example.com; auth=pass smtp.auth=ceo\n',
  UPSTREAM_AR,
]
// Names a Java (InternetHeaders: String.trim, equalsIgnoreCase) or PHP (trim) reader takes for ours or for From.
const MALFORMED = [
  'X-Authenticated-User\x1f: ceo@example.com\n',
  '\x01Authentication-Results: mail.example.com; auth=pass (plain) smtp.auth=ceo@example.com\n',
  'X-Authenticated-User\x0b: ceo@example.com\n',
  'From\x00: bob@example.com\n',
  '\u017Fender: bob@example.com\n',
  'X-Authent\u0131cated-User: ceo@example.com\n',
  'X-Auth-Stamp\x7f: v=1; u=ceo@example.com\n',
  'a line without a colon\n',
]
const BODY_HASH = bodyHash('Hello.\r\n')
const ctx = (over: Partial<MessageContext> = {}): MessageContext => ({
  mailFrom: 'alice@example.com',
  authservId: 'mail.example.com',
  now: NOW,
  bodyHash: BODY_HASH,
  ...over,
})

function stampField(
  login = 'alice@example.com',
  mailFrom = 'alice@example.com',
  fields = BASE,
  t = NOW - 10,
): string {
  const key = new StampKey('k1', Buffer.from(SECRET))
  return `X-Auth-Stamp: ${stampValue('X-Auth-Stamp', key, { login, mailFrom, ...messageFacts(fields, BODY_HASH) }, t)}\n`
}

describe('inspectMessage', () => {
  test('unauthenticated, default config: every forged field goes, other servers\u2019 A-R stays, nobody is stamped', () => {
    const fields = [...BASE, ...FORGED, stampField()]
    const r = inspectMessage(fields, config(), ctx())
    assert.deepEqual(r.remove, [4, 5, 6, 7, 8, 10])
    assert.deepEqual(r.removed, [
      ['x-authenticated-user', 3],
      ['authentication-results', 1],
      ['original-authentication-results', 1],
      ['x-auth-stamp', 1],
    ])
    assert.equal(r.identity, undefined)
    assert.equal(r.verdict, undefined, 'no verification unless verify=true')
  })

  test('authenticated: stamped with the session login; a client-supplied stamp goes even if it verifies', () => {
    const fields = [...BASE, stampField('bob@example.com')]
    const r = inspectMessage(fields, VERIFY, ctx({ login: 'alice@example.com' }))
    assert.deepEqual(r.remove, [4])
    assert.deepEqual(r.identity, { login: 'alice@example.com', source: 'session' })
    assert.equal(r.verdict, undefined)
  })

  test('verify mode: a stamp that verifies is kept and its login stamped; identity headers still go', () => {
    const fields = [...BASE, 'X-Authenticated-User: ceo@example.com\n', stampField()]
    const r = inspectMessage(fields, VERIFY, ctx())
    assert.deepEqual(r.remove, [4])
    assert.equal(r.verdict?.valid, true)
    assert.deepEqual(r.identity, { login: 'alice@example.com', source: 'stamp' })
    assert.deepEqual(verdictLabel(r.verdict!), { pass: 'verify(valid)' })
  })

  test('verify mode: a stamp that does not verify goes, with the reason', () => {
    const cases: Array<[string[], MessageContext, string]> = [
      [[...BASE, stampField().replace('u=alice', 'u=carol')], ctx(), 'bad_signature'],
      [[...BASE, stampField()], ctx({ mailFrom: 'other@example.com' }), 'mailfrom_mismatch'],
      [[...BASE, stampField(undefined, undefined, BASE, NOW - 700_000)], ctx(), 'expired'],
      [[...BASE, stampField(), stampField()], ctx(), 'several_stamps'],
      [
        [...BASE.slice(0, 2), 'Message-ID: <other@example.com>\n', BASE[3]!, stampField()],
        ctx(),
        'bad_signature',
      ],
      [[...BASE, stampField()], ctx({ bodyHash: bodyHash('Other.\r\n') }), 'body_hash_mismatch'],
      [[...BASE, stampField()], ctx({ bodyHash: undefined }), 'body_unreadable'],
    ]
    for (const [fields, c, reason] of cases) {
      const r = inspectMessage(fields, VERIFY, c)
      assert.equal(r.verdict?.valid, false)
      assert.equal((r.verdict as { reason: string }).reason, reason)
      assert.deepEqual(verdictLabel(r.verdict!), { fail: `verify(${reason})` })
      assert.ok(r.remove.length >= 1 && r.remove.every((i) => /^x-auth-stamp:/i.test(fields[i]!)))
      assert.equal(r.identity, undefined)
    }
    const none = inspectMessage(BASE, VERIFY, ctx())
    assert.deepEqual(verdictLabel(none.verdict!), { skip: 'verify(no_stamp)' })
  })

  test('verify_peers: only a listed peer\u2019s stamp is checked; any other peer\u2019s is removed as untrusted_peer', () => {
    const peers = config({
      verify: true,
      key_id: 'k1',
      key: SECRET,
      verify_peers: '192.0.2.0/24,2001:db8::/32',
    })
    const fields = [...BASE, stampField()]
    for (const ip of ['192.0.2.7', '::ffff:192.0.2.7', '2001:db8::25']) {
      const r = inspectMessage(fields, peers, ctx({ peerIp: ip }))
      assert.equal(r.verdict?.valid, true, ip)
      assert.deepEqual(r.remove, [], ip)
    }
    for (const ip of ['198.51.100.1', '127.0.0.1', '', undefined]) {
      const r = inspectMessage(fields, peers, ctx({ peerIp: ip }))
      assert.deepEqual(r.verdict, {
        valid: false,
        reason: 'untrusted_peer',
        detail: `peer ${ip || '(unknown)'} is not in verify_peers`,
      })
      assert.deepEqual(verdictLabel(r.verdict!), { fail: 'verify(untrusted_peer)' })
      assert.deepEqual(r.remove, [4], String(ip))
      assert.equal(r.identity, undefined)
    }
    // no stamp at all is still just no_stamp, whoever the peer
    assert.deepEqual(verdictLabel(inspectMessage(BASE, peers, ctx({ peerIp: '198.51.100.1' })).verdict!), {
      skip: 'verify(no_stamp)',
    })
    // verify_peers empty (the default): any peer's stamp is checked
    assert.equal(inspectMessage(fields, VERIFY, ctx({ peerIp: '198.51.100.1' })).verdict?.valid, true)
  })

  test('every field with a malformed name goes, inbound or authenticated, counted apart from the forged ones', () => {
    const fields = [...BASE, ...MALFORMED, 'X-Authenticated-User: ceo@example.com\n', 'X-Spam: no\n']
    for (const login of [undefined, 'alice@example.com']) {
      const r = inspectMessage(fields, config(), ctx({ login }))
      assert.deepEqual(r.remove, [4, 5, 6, 7, 8, 9, 10, 11, 12])
      assert.deepEqual(r.removed, [['x-authenticated-user', 1]])
      assert.deepEqual(r.malformed, [
        'X-Authenticated-User<U+001F>',
        '<U+0001>Authentication-Results',
        'X-Authenticated-User<U+000B>',
        'From<U+0000>',
        '<U+017F>ender',
        'X-Authent<U+0131>cated-User',
        'X-Auth-Stamp<U+007F>',
        'a line without a colon',
      ])
      assert.deepEqual(new StampSummary().entry(r), {
        removed: 9,
        removed_fields: ['x-authenticated-user=1'],
        malformed_names: 8,
      })
    }
    const only = inspectMessage([...BASE, MALFORMED[3]!], config(), ctx())
    assert.deepEqual(new StampSummary().entry(only), { removed: 1, malformed_names: 1 })
  })

  test('verify mode: a stamp under a malformed name is neither a stamp nor a second stamp; it goes, a valid one stays', () => {
    for (const bad of [
      'X-Auth-Stamp\x00: v=1; kid=k1\n',
      'X-Auth-Stamp\x0b: v=1; kid=k1\n',
      '\x0cX-Auth-Stamp: v=1; kid=k1\n',
    ]) {
      const fields = [...BASE, stampField(), bad]
      const r = inspectMessage(fields, VERIFY, ctx())
      assert.equal(r.verdict?.valid, true, JSON.stringify(bad))
      assert.deepEqual(r.remove, [5], JSON.stringify(bad))
      assert.deepEqual(r.identity, { login: 'alice@example.com', source: 'stamp' })
    }
  })

  test('malformedFieldsNote: one log line naming at most five', () => {
    assert.equal(malformedFieldsNote(inspectMessage(BASE, config(), ctx())), undefined)
    assert.equal(
      malformedFieldsNote(inspectMessage([...BASE, ...MALFORMED.slice(0, 2)], config(), ctx())),
      'removed 2 field(s) with a malformed name (not RFC 5322 ftext): "X-Authenticated-User<U+001F>", "<U+0001>Authentication-Results"',
    )
    assert.match(
      malformedFieldsNote(inspectMessage([...BASE, ...MALFORMED], config(), ctx()))!,
      /^removed 8 field\(s\) .*"<U\+017F>ender", \.\.\.$/,
    )
  })

  test('Haraka\u2019s own pending A-R is not counted as forged', () => {
    const pending = 'mail.example.com;\r\n\tauth=pass (plain) smtp.auth=alice@example.com'
    const fields = [...BASE, `Authentication-Results: ${pending}\n`]
    assert.deepEqual(
      inspectMessage(fields, config(), ctx({ login: 'alice@example.com', pendingAuthResults: pending }))
        .remove,
      [],
    )
  })
})

describe('headersToAdd', () => {
  const identity = { login: 'alice@example.com', source: 'session' as const }

  test('default: only the identity header, control characters removed', () => {
    assert.deepEqual(
      headersToAdd(config(), {
        identityValue: 'alice@example.com\r\n',
        identity,
        mailFrom: 'x',
        fields: BASE,
        now: NOW,
      }),
      [{ name: 'X-Authenticated-User', value: 'alice@example.com' }],
    )
  })

  test('sign mode: identity header, then the stamp (which ends up on top); it verifies against the message', () => {
    const added = headersToAdd(SIGN, {
      identityValue: 'a.liddell@example.com',
      identity,
      mailFrom: 'alice@example.com',
      fields: BASE,
      now: NOW,
      bodyHash: BODY_HASH,
    })
    assert.deepEqual(
      added.map((h) => h.name),
      ['X-Authenticated-User', 'X-Auth-Stamp'],
    )
    const seen = { headers: signedHeaders(BASE), bodyHash: BODY_HASH }
    const v = verifyStamp(added[1]!.value, seen, {
      keys: SIGN.verifyKeys,
      now: NOW,
      maxAge: 60,
      mailFrom: 'alice@example.com',
    })
    assert.ok(v.valid && v.login === 'alice@example.com', 'the stamp signs the login, not the header value')
  })

  test('sign mode: never a stamp without one Message-ID and one Date, or without the body hash', () => {
    const opts = {
      identityValue: 'alice@example.com',
      identity,
      mailFrom: 'alice@example.com',
      now: NOW,
      bodyHash: BODY_HASH,
    }
    const noId = BASE.filter((f) => !f.startsWith('Message-ID'))
    const noDate = BASE.filter((f) => !f.startsWith('Date'))
    for (const fields of [
      noId,
      noDate,
      BASE.slice(0, 2),
      [...BASE, 'Date: Wed, 02 Dec 2026 09:00:00 +0000\n'],
    ]) {
      assert.deepEqual(
        headersToAdd(SIGN, { ...opts, fields }).map((h) => h.name),
        ['X-Authenticated-User'],
      )
    }
    assert.deepEqual(
      headersToAdd(SIGN, { ...opts, fields: BASE, bodyHash: undefined }).map((h) => h.name),
      ['X-Authenticated-User'],
    )
  })

  test('signPlan says why a message is not signed', () => {
    const noId = BASE.filter((f) => !f.startsWith('Message-ID'))
    assert.deepEqual(signPlan(SIGN, identity, BASE), { sign: true })
    assert.deepEqual(signPlan(SIGN, identity, noId), {
      sign: false,
      obstacle: 'no_message_id',
      detail: 'not signed: the message has no Message-ID',
    })
    const off = config({ sign: true, key_id: 'k1', key: SECRET, add_date_message_id: false })
    assert.deepEqual(signPlan(off, identity, [...BASE, 'Date: x\n']), {
      sign: false,
      obstacle: 'several_dates',
      detail: 'not signed: the message has more than one Date (add_date_message_id=false)',
    })
    assert.deepEqual(signPlan(config(), identity, noId), { sign: false }, 'sign=false: nothing to say')
    assert.deepEqual(signPlan(SIGN, { login: 'alice', source: 'stamp' }, noId), { sign: false })
  })

  test('a login taken from a verified stamp is not signed again', () => {
    const out = headersToAdd(config({ sign: true, verify: true, key_id: 'k1', key: SECRET }), {
      identityValue: 'alice@example.com',
      identity: { login: 'alice@example.com', source: 'stamp' },
      mailFrom: '',
      fields: BASE,
      now: NOW,
    })
    assert.deepEqual(
      out.map((h) => h.name),
      ['X-Authenticated-User'],
    )
  })
})

describe('a submission\u2019s missing Date and Message-ID (RFC 6409 \u00a78.2, \u00a78.3)', () => {
  test('both added when there is no field of that name; none when present, even empty or doubled', () => {
    const bare = ['From: alice@example.com\n', 'Subject: lunch?\n']
    const added = missingSubmissionFields(bare, { host: 'mail.example.com', now: NOW })
    assert.deepEqual(
      added.map((h) => h.name),
      ['Date', 'Message-ID'],
    )
    assert.equal(added[0]!.value, 'Fri, 15 Jan 2027 08:00:00 +0000')
    assert.match(added[1]!.value, /^<[0-9a-z]+\.[0-9a-f]{32}@mail\.example\.com>$/)
    assert.deepEqual(missingSubmissionFields(BASE, { host: 'mail.example.com', now: NOW }), [])
    const present = missingSubmissionFields(['date :\n', 'MESSAGE-ID: <a@b>\n', 'Message-ID: <c@d>\n'], {
      host: 'h',
      now: NOW,
    })
    assert.deepEqual(present, [])
    assert.deepEqual(
      missingSubmissionFields(['Date: x\n'], { host: 'h', now: NOW }).map((h) => h.name),
      ['Message-ID'],
    )
  })

  test('Message-IDs are unique; our name is used only when it is a dot-atom', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newMessageId('mail.example.com', NOW)))
    assert.equal(ids.size, 1000)
    const r = Buffer.alloc(16, 0xab)
    assert.equal(
      newMessageId('Mail.Example.COM', NOW, r),
      `<${NOW.toString(36)}.${'ab'.repeat(16)}@mail.example.com>`,
    )
    for (const bad of ['', 'bad host', 'a..b', 'x>y', 'a\r\nb', '[127.0.0.1]']) {
      assert.match(newMessageId(bad, NOW, r), /@localhost\.invalid>$/, JSON.stringify(bad))
    }
  })

  test('rfc5322Date: UTC, two-digit day, the zone as +0000', () => {
    assert.equal(rfc5322Date(0), 'Thu, 01 Jan 1970 00:00:00 +0000')
    assert.equal(rfc5322Date(NOW), 'Fri, 15 Jan 2027 08:00:00 +0000')
    assert.equal(rfc5322Date(1_798_761_599), 'Thu, 31 Dec 2026 23:59:59 +0000')
  })
})

describe('verifyNeedsBody', () => {
  const withStamp = [...BASE, stampField()]
  test('only in verify mode, unauthenticated, with a stamp field, from a peer that is checked', () => {
    assert.equal(verifyNeedsBody(withStamp, VERIFY, {}), true)
    assert.equal(verifyNeedsBody([...BASE, 'x-auth-STAMP : v=2\n'], VERIFY, {}), true)
    assert.equal(verifyNeedsBody(BASE, VERIFY, {}), false, 'no stamp')
    assert.equal(
      verifyNeedsBody(withStamp, VERIFY, { login: 'alice' }),
      false,
      'authenticated: the stamp is removed unchecked',
    )
    assert.equal(verifyNeedsBody(withStamp, SIGN, {}), false, 'verify=false')
    const peers = config({ verify: true, key_id: 'k1', key: SECRET, verify_peers: '192.0.2.0/24' })
    assert.equal(verifyNeedsBody(withStamp, peers, { peerIp: '192.0.2.9' }), true)
    assert.equal(
      verifyNeedsBody(withStamp, peers, { peerIp: '198.51.100.1' }),
      false,
      'untrusted_peer without reading',
    )
  })
})

describe('StampSummary', () => {
  test('one entry: removed count and names, then the labels', () => {
    const r = new StampSummary()
    r.note(stampDecision('stamp', 'pass', 'identity'))
    r.note(stampDecision('address', 'err', 'directory_unavailable'))
    r.note(undefined)
    const found = inspectMessage([...BASE, ...FORGED], config(), ctx())
    assert.deepEqual(r.entry(found), {
      removed: 5,
      removed_fields: [
        'x-authenticated-user=3',
        'authentication-results=1',
        'original-authentication-results=1',
      ],
      pass: ['stamp(identity)'],
      err: ['address(directory_unavailable)'],
    })
    assert.deepEqual(new StampSummary().entry(inspectMessage(BASE, config(), ctx())), {})
  })
})
