import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  continueAuth,
  decodeResponse,
  startAuth,
  type SessionState,
  type Step,
} from '../../../lib/authn/sasl'
import { REPLIES } from '../../../lib/replies'

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64')
const tlsSession: SessionState = {
  tls: true,
  authenticated: false,
  inTransaction: false,
  mechanisms: ['PLAIN', 'LOGIN'],
}

function replyOf(step: Step) {
  assert.equal(step.kind, 'reply')
  return step.kind === 'reply' ? step.reply : undefined
}

describe('AUTH PLAIN', () => {
  test('initial response yields credentials', () => {
    const step = startAuth(`PLAIN ${b64('\0alice\0s3cret')}`, tlsSession)
    assert.deepEqual(step, {
      kind: 'verify',
      credentials: { mech: 'PLAIN', authzid: '', authcid: 'alice', password: 's3cret' },
    })
  })

  test('without initial response: empty 334, then the response', () => {
    const step = startAuth('plain', tlsSession)
    assert.deepEqual(step, { kind: 'challenge', text: '', pending: { mech: 'PLAIN' } })
    const next = continueAuth({ mech: 'PLAIN' }, b64('\0bob\0pw'))
    assert.equal(next.kind, 'verify')
  })

  test('keeps the authzid for the plugin to judge', () => {
    const step = startAuth(`PLAIN ${b64('admin\0alice\0pw')}`, tlsSession)
    assert.equal(step.kind === 'verify' && step.credentials.authzid, 'admin')
  })

  test('wrong number of NUL fields is 501 5.5.2', () => {
    assert.deepEqual(replyOf(startAuth(`PLAIN ${b64('alice\0pw')}`, tlsSession)), REPLIES.AUTH_BAD_PLAIN)
    assert.deepEqual(replyOf(startAuth(`PLAIN ${b64('\0a\0b\0c')}`, tlsSession)), REPLIES.AUTH_BAD_PLAIN)
  })

  test('invalid base64 is 501 5.5.2', () => {
    assert.deepEqual(replyOf(startAuth('PLAIN not*base64', tlsSession)), REPLIES.AUTH_BAD_BASE64)
    assert.deepEqual(replyOf(continueAuth({ mech: 'PLAIN' }, 'abc')), REPLIES.AUTH_BAD_BASE64)
  })

  test('* cancels with 501 5.7.0', () => {
    assert.deepEqual(replyOf(continueAuth({ mech: 'PLAIN' }, '*')), REPLIES.AUTH_CANCELLED)
  })

  test('an empty password is passed on (the plugin refuses it without a bind)', () => {
    const step = startAuth(`PLAIN ${b64('\0alice\0')}`, tlsSession)
    assert.equal(step.kind === 'verify' && step.credentials.password, '')
  })
})

describe('AUTH LOGIN', () => {
  test('two prompts, then credentials', () => {
    const s1 = startAuth('LOGIN', tlsSession)
    assert.deepEqual(s1, { kind: 'challenge', text: b64('Username:'), pending: { mech: 'LOGIN' } })
    const s2 = continueAuth({ mech: 'LOGIN' }, b64('alice'))
    assert.deepEqual(s2, {
      kind: 'challenge',
      text: b64('Password:'),
      pending: { mech: 'LOGIN', user: 'alice' },
    })
    const s3 = continueAuth({ mech: 'LOGIN', user: 'alice' }, b64('pw'))
    assert.deepEqual(s3, {
      kind: 'verify',
      credentials: { mech: 'LOGIN', authzid: '', authcid: 'alice', password: 'pw' },
    })
  })

  test('initial response carries the username', () => {
    const s = startAuth(`LOGIN ${b64('alice')}`, tlsSession)
    assert.equal(s.kind === 'challenge' && s.pending.mech === 'LOGIN' && s.pending.user, 'alice')
  })
})

describe('session rules', () => {
  test('no TLS: 538 5.7.11, whatever follows', () => {
    assert.deepEqual(
      replyOf(startAuth(`PLAIN ${b64('\0a\0b')}`, { ...tlsSession, tls: false })),
      REPLIES.AUTH_TLS_REQUIRED,
    )
    assert.deepEqual(replyOf(startAuth('', { ...tlsSession, tls: false })), REPLIES.AUTH_TLS_REQUIRED)
  })

  test('already authenticated / inside a transaction: 503 5.5.1', () => {
    assert.deepEqual(
      replyOf(startAuth('PLAIN', { ...tlsSession, authenticated: true })),
      REPLIES.AUTH_ALREADY,
    )
    assert.deepEqual(
      replyOf(startAuth('PLAIN', { ...tlsSession, inTransaction: true })),
      REPLIES.AUTH_IN_TRANSACTION,
    )
  })

  test('unknown or disabled mechanism: 504 5.5.4', () => {
    assert.deepEqual(replyOf(startAuth('CRAM-MD5', tlsSession)), REPLIES.AUTH_UNKNOWN_MECHANISM)
    assert.deepEqual(
      replyOf(startAuth('LOGIN', { ...tlsSession, mechanisms: ['PLAIN'] })),
      REPLIES.AUTH_UNKNOWN_MECHANISM,
    )
  })

  test('syntax errors: 501 5.5.4', () => {
    assert.deepEqual(replyOf(startAuth('', tlsSession)), REPLIES.AUTH_SYNTAX)
    assert.deepEqual(replyOf(startAuth('PLAIN a b', tlsSession)), REPLIES.AUTH_SYNTAX)
  })
})

test('decodeResponse is strict and knows "=" is empty', () => {
  assert.deepEqual(decodeResponse('='), { ok: true, text: '' })
  assert.deepEqual(decodeResponse('YWJj'), { ok: true, text: 'abc' })
  assert.deepEqual(decodeResponse('YWJ'), { ok: false, reason: 'bad_base64' })
  assert.deepEqual(decodeResponse('YW Jj'), { ok: false, reason: 'bad_base64' })
  assert.deepEqual(decodeResponse('YWJj!'), { ok: false, reason: 'bad_base64' })
})

describe('credentials are UTF-8 text without control characters (501 5.5.2)', () => {
  const chunk = (p: string | number[]) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))
  const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map(chunk)).toString('base64')
  const refusal = (step: Step) => (step.kind === 'reply' ? [step.reply, step.reason, step.detail] : step)
  const badUtf8 = (field: string) => [REPLIES.AUTH_BAD_UTF8, 'bad_utf8', `in the ${field}`]
  const control = (field: string) => [
    REPLIES.AUTH_CONTROL_CHARACTERS,
    'control_characters',
    `in the ${field}`,
  ]
  const loginPassword = (b64: string) => continueAuth({ mech: 'LOGIN', user: 'alice' }, b64)

  test('invalid UTF-8 is refused, never replaced: 78 FF and 78 FE are not both "x\\uFFFD"', () => {
    // lone continuation byte, overlong "/", surrogate, truncated sequence, beyond U+10FFFF
    const invalid = [
      [0x78, 0xff],
      [0x78, 0xfe],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xe2, 0x82],
      [0xf4, 0x90, 0x80, 0x80],
    ]
    for (const bad of invalid) {
      const hex = Buffer.from(bad).toString('hex')
      assert.deepEqual(decodeResponse(bytes(bad)), { ok: false, reason: 'bad_utf8' }, hex)
      const plain = startAuth(`PLAIN ${bytes('\0alice\0', bad)}`, tlsSession)
      assert.deepEqual(refusal(plain), badUtf8('PLAIN response'), hex)
      const user = continueAuth({ mech: 'LOGIN' }, bytes('alice', bad))
      assert.deepEqual(refusal(user), badUtf8('username'), hex)
      assert.deepEqual(refusal(loginPassword(bytes(bad))), badUtf8('password'), hex)
    }
    const text = 'Credentials must be valid UTF-8'
    assert.deepEqual(REPLIES.AUTH_BAD_UTF8, { code: 501, enh: '5.5.2', text })
  })

  test('valid UTF-8 is kept as it is, a leading BOM included', () => {
    assert.deepEqual(decodeResponse(bytes('p\u00e4ss \u{1F511}')), { ok: true, text: 'p\u00e4ss \u{1F511}' })
    assert.deepEqual(decodeResponse(bytes([0xef, 0xbb, 0xbf], 'x')), { ok: true, text: '\ufeffx' })
    // a bidi mark (typed by some RTL keyboards) is not a control character in a password
    const step = loginPassword(bytes('\u05e1\u200f\u05d5\u05d3'))
    assert.equal(step.kind === 'verify' && step.credentials.password, '\u05e1\u200f\u05d5\u05d3')
  })

  test('a LOGIN password with NUL never becomes credentials', () => {
    for (const password of ['\0', 'right\0', '\0right', 'ri\0ght']) {
      assert.deepEqual(refusal(loginPassword(bytes(password))), control('password'), JSON.stringify(password))
    }
    const text = 'Control characters are not allowed in credentials'
    assert.deepEqual(REPLIES.AUTH_CONTROL_CHARACTERS, { code: 501, enh: '5.5.2', text })
  })

  test('every C0 control, DEL and C1 in a password is refused, TAB and CR included (PLAIN and LOGIN)', () => {
    const controls = [...Array.from({ length: 32 }, (_, i) => i), 0x7f, 0x80, 0x85, 0x9f]
    for (const cp of controls) {
      const pw = `pw${String.fromCodePoint(cp)}x`
      assert.deepEqual(refusal(loginPassword(bytes(pw))), control('password'), `LOGIN U+${cp.toString(16)}`)
      if (cp === 0) continue // NUL is PLAIN's separator: a fourth field
      const plain = startAuth(`PLAIN ${bytes(`\0alice\0${pw}`)}`, tlsSession)
      assert.deepEqual(refusal(plain), control('password'), `PLAIN U+${cp.toString(16)}`)
    }
    assert.equal(loginPassword(bytes('pw with spaces ~')).kind, 'verify')
  })

  test('controls, line separators, bidi controls in a login or authzid (LOGIN: at the username)', () => {
    const unsafe = ['\t', '\x01', '\x1f', '\x7f', '\x85', '\u2028', '\u2029', '\u202e', '\u2066', '\u200f']
    for (const bad of unsafe) {
      const shown = JSON.stringify(bad)
      const user = continueAuth({ mech: 'LOGIN' }, bytes(`alice${bad}`))
      assert.deepEqual(refusal(user), control('username'), `LOGIN ${shown}`)
      const initial = startAuth(`LOGIN ${bytes(`${bad}alice`)}`, tlsSession)
      assert.deepEqual(refusal(initial), control('username'), `LOGIN initial ${shown}`)
      const authcid = startAuth(`PLAIN ${bytes(`\0alice${bad}\0pw`)}`, tlsSession)
      assert.deepEqual(refusal(authcid), control('username'), `PLAIN ${shown}`)
      const authzid = startAuth(`PLAIN ${bytes(`bob${bad}\0alice\0pw`)}`, tlsSession)
      assert.deepEqual(refusal(authzid), control('authorization identity'), `authzid ${shown}`)
    }
  })

  test('bad base64 names the field for the log', () => {
    const step = loginPassword('abc')
    assert.deepEqual(refusal(step), [REPLIES.AUTH_BAD_BASE64, 'bad_base64', 'in the password'])
  })
})
