import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { continueAuth, decodeBase64, startAuth, type SessionState, type Step } from '../lib/auth/sasl'
import { REPLIES } from '../lib/replies'

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64')
const tlsSession: SessionState = { tls: true, authenticated: false, inTransaction: false, mechanisms: ['PLAIN', 'LOGIN'] }

function replyOf(step: Step) {
  assert.equal(step.kind, 'reply')
  return step.kind === 'reply' ? step.reply : undefined
}

describe('AUTH PLAIN', () => {
  test('initial response yields credentials', () => {
    const step = startAuth(`PLAIN ${b64('\0alice\0s3cret')}`, tlsSession)
    assert.deepEqual(step, { kind: 'verify', credentials: { mech: 'PLAIN', authzid: '', authcid: 'alice', password: 's3cret' } })
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
    assert.deepEqual(s2, { kind: 'challenge', text: b64('Password:'), pending: { mech: 'LOGIN', user: 'alice' } })
    const s3 = continueAuth({ mech: 'LOGIN', user: 'alice' }, b64('pw'))
    assert.deepEqual(s3, { kind: 'verify', credentials: { mech: 'LOGIN', authzid: '', authcid: 'alice', password: 'pw' } })
  })

  test('initial response carries the username', () => {
    const s = startAuth(`LOGIN ${b64('alice')}`, tlsSession)
    assert.equal(s.kind === 'challenge' && s.pending.mech === 'LOGIN' && s.pending.user, 'alice')
  })
})

describe('session rules', () => {
  test('no TLS: 538 5.7.11, whatever follows', () => {
    assert.deepEqual(replyOf(startAuth(`PLAIN ${b64('\0a\0b')}`, { ...tlsSession, tls: false })), REPLIES.AUTH_TLS_REQUIRED)
    assert.deepEqual(replyOf(startAuth('', { ...tlsSession, tls: false })), REPLIES.AUTH_TLS_REQUIRED)
  })

  test('already authenticated / inside a transaction: 503 5.5.1', () => {
    assert.deepEqual(replyOf(startAuth('PLAIN', { ...tlsSession, authenticated: true })), REPLIES.AUTH_ALREADY)
    assert.deepEqual(replyOf(startAuth('PLAIN', { ...tlsSession, inTransaction: true })), REPLIES.AUTH_IN_TRANSACTION)
  })

  test('unknown or disabled mechanism: 504 5.5.4', () => {
    assert.deepEqual(replyOf(startAuth('CRAM-MD5', tlsSession)), REPLIES.AUTH_UNKNOWN_MECHANISM)
    assert.deepEqual(replyOf(startAuth('LOGIN', { ...tlsSession, mechanisms: ['PLAIN'] })), REPLIES.AUTH_UNKNOWN_MECHANISM)
  })

  test('syntax errors: 501 5.5.4', () => {
    assert.deepEqual(replyOf(startAuth('', tlsSession)), REPLIES.AUTH_SYNTAX)
    assert.deepEqual(replyOf(startAuth('PLAIN a b', tlsSession)), REPLIES.AUTH_SYNTAX)
  })
})

test('decodeBase64 is strict and knows "=" is empty', () => {
  assert.equal(decodeBase64('='), '')
  assert.equal(decodeBase64('YWJj'), 'abc')
  assert.equal(decodeBase64('YWJ'), null)
  assert.equal(decodeBase64('YW Jj'), null)
  assert.equal(decodeBase64('YWJj!'), null)
})
