// The AUTH=<mailbox> MAIL parameter (RFC 4954 §5): xtext, parsing, when it is believed.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { decodeXtext, judgeAuthParam, mailAuthDecision, parseAuthParam } from '../../../lib/authz/mail_auth'

describe('xtext', () => {
  test('+XX decodes; other printable characters are themselves', () => {
    assert.equal(decodeXtext('<alice+2Btag@example.com>'), '<alice+tag@example.com>')
    assert.equal(decodeXtext('<a+3Db@example.com>'), '<a=b@example.com>')
    assert.equal(decodeXtext('<>'), '<>')
  })
  test('malformed: bad hex, lower-case hex, = or space', () => {
    assert.equal(decodeXtext('a+ZZ'), null)
    assert.equal(decodeXtext('a+2b'), null)
    assert.equal(decodeXtext('a+2'), null)
    assert.equal(decodeXtext('a=b'), null)
    assert.equal(decodeXtext('a b'), null)
  })
})

describe('parseAuthParam', () => {
  test('absent, null, mailbox, malformed', () => {
    assert.deepEqual(parseAuthParam(undefined), { kind: 'absent' })
    assert.deepEqual(parseAuthParam('<>'), { kind: 'null' })
    assert.deepEqual(parseAuthParam('<alice@example.com>'), { kind: 'mailbox', address: 'alice@example.com' })
    assert.deepEqual(parseAuthParam(null), { kind: 'malformed' })
    assert.deepEqual(parseAuthParam('alice@example.com'), { kind: 'malformed' })
    assert.deepEqual(parseAuthParam('<alice>'), { kind: 'malformed' })
    assert.deepEqual(parseAuthParam('<a@b@c>'), { kind: 'malformed' })
  })
})

describe('judgeAuthParam', () => {
  const mailbox = { kind: 'mailbox' as const, address: 'alice@example.com' }
  const nobody = { authenticated: false, trustedPeer: false, ownedByLogin: false }
  test('unauthenticated and untrusted: treated as <>', () => {
    assert.deepEqual(judgeAuthParam(mailbox, nobody), {
      value: '<>',
      accepted: false,
      reason: 'unauthenticated',
    })
  })
  test('a trusted peer is believed', () => {
    assert.deepEqual(judgeAuthParam(mailbox, { ...nobody, trustedPeer: true }), {
      value: '<alice@example.com>',
      accepted: true,
      reason: 'trusted_peer',
    })
  })
  test('an authenticated session is believed only for an address the login owns', () => {
    assert.deepEqual(judgeAuthParam(mailbox, { ...nobody, authenticated: true, ownedByLogin: true }), {
      value: '<alice@example.com>',
      accepted: true,
      reason: 'authenticated',
    })
    assert.deepEqual(judgeAuthParam(mailbox, { ...nobody, authenticated: true, trustedPeer: true }), {
      value: '<>',
      accepted: false,
      reason: 'not_owned',
    })
  })
  test('<> is always fine; malformed is <>', () => {
    assert.deepEqual(judgeAuthParam({ kind: 'null' }, nobody), {
      value: '<>',
      accepted: true,
      reason: 'null',
    })
    assert.deepEqual(judgeAuthParam({ kind: 'malformed' }, { ...nobody, trustedPeer: true }), {
      value: '<>',
      accepted: false,
      reason: 'malformed',
    })
  })
})

describe('mailAuthDecision', () => {
  test('believed: pass mail_auth(<reason>); ignored: skip, with the parameter made log-safe', () => {
    const mailbox = { kind: 'mailbox', address: 'a.liddell@example.com' } as const
    assert.deepEqual(
      mailAuthDecision(mailbox, {
        value: '<a.liddell@example.com>',
        accepted: true,
        reason: 'authenticated',
      }),
      {
        plugin: 'auth_relay',
        rule: 'mail_auth',
        reason: 'authenticated',
        verdict: 'pass',
        detail: 'AUTH=<a.liddell@example.com> on MAIL FROM accepted (authenticated)',
      },
    )
    // a value from a trusted peer (xtext-decoded) is logged without its controls: `+9B` is a C1 CSI
    const csi = mailAuthDecision(mailbox, {
      value: '<a\u009B[2Jb@example.com>',
      accepted: true,
      reason: 'trusted_peer',
    })
    assert.equal(csi.detail, 'AUTH=<a?[2Jb@example.com> on MAIL FROM accepted (trusted_peer)')
    const ignored = mailAuthDecision(mailbox, { value: '<>', accepted: false, reason: 'not_owned' })
    assert.equal(ignored.verdict, 'skip')
    assert.equal(
      ignored.detail,
      'AUTH= parameter "a.liddell@example.com" on MAIL FROM ignored, treated as AUTH=<> (not_owned)',
    )
    const malformed = mailAuthDecision(
      { kind: 'malformed' },
      { value: '<>', accepted: false, reason: 'malformed' },
    )
    assert.equal(
      malformed.detail,
      'AUTH= parameter malformed on MAIL FROM ignored, treated as AUTH=<> (malformed)',
    )
  })
})
