// lib/authn/decide: what ldap_auth records for each ending of an AUTH attempt,
// and the reply it answers with (lib/replies authReplyFor): only OK is 235, only
// an outage is 454, every refusal is the same 535 5.7.8.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  AUTH_INTERNAL_ERROR,
  AUTH_TIMED_OUT,
  EXCHANGE_ABANDONED,
  exchangeRefused,
  verdictDecision,
} from '../../../lib/authn/decide'
import type { Verdict } from '../../../lib/authn/verify'
import { labelOf } from '../../../lib/decisions'
import { authReplyFor, REPLIES, type AuthOutcome } from '../../../lib/replies'

describe('the decisions of ldap_auth', () => {
  test('a verdict: pass only on OK, its label, and the reply of its outcome', () => {
    const ok: Verdict = {
      outcome: 'OK',
      rule: 'authn',
      reason: 'bind_ok',
      login: 'a',
      identity: 'a',
      user: 'a',
    }
    assert.deepEqual(verdictDecision(ok), {
      plugin: 'ldap_auth',
      rule: 'authn',
      reason: 'bind_ok',
      verdict: 'pass',
      reply: REPLIES.AUTH_OK,
    })
    const refused = verdictDecision({ outcome: 'ACCOUNT_REFUSED', rule: 'authz', reason: 'ppolicy_locked' })
    assert.deepEqual(
      [labelOf(refused), refused.verdict, refused.reply.code],
      ['authz(ppolicy_locked)', 'fail', 535],
    )
    const down = verdictDecision({ outcome: 'DIRECTORY_DOWN', rule: 'authn', reason: 'directory_busy' })
    assert.deepEqual(
      [labelOf(down), down.verdict, down.reply],
      ['authn(directory_busy)', 'fail', REPLIES.AUTH_TEMPFAIL],
    )
  })

  test('every refusal is 535 5.7.8 (no probing); OK 235; an outage 454', () => {
    const refusals: AuthOutcome[] = [
      'PASSWORD_MISMATCH',
      'USER_UNKNOWN',
      'AMBIGUOUS',
      'EMPTY_PASSWORD',
      'INVALID_LOGIN',
      'ACCOUNT_REFUSED',
      'AUTHZID_REFUSED',
    ]
    for (const o of refusals) assert.equal(authReplyFor(o), REPLIES.AUTH_FAILED, o)
    assert.equal(authReplyFor('OK'), REPLIES.AUTH_OK)
    assert.equal(authReplyFor('DIRECTORY_DOWN'), REPLIES.AUTH_TEMPFAIL)
  })

  test('the exchange refused or abandoned, the deadline, a bug', () => {
    const refused = exchangeRefused({ reason: 'bad_utf8', reply: REPLIES.AUTH_BAD_UTF8 })
    assert.deepEqual(
      [labelOf(refused), refused.verdict, refused.reply],
      ['auth(bad_utf8)', 'fail', REPLIES.AUTH_BAD_UTF8],
    )
    assert.deepEqual([labelOf(EXCHANGE_ABANDONED), EXCHANGE_ABANDONED.reply], ['auth(abandoned)', undefined])
    assert.deepEqual(
      [labelOf(AUTH_TIMED_OUT), AUTH_TIMED_OUT.reply],
      ['authn(timeout)', REPLIES.AUTH_TEMPFAIL],
    )
    assert.deepEqual(
      [labelOf(AUTH_INTERNAL_ERROR), AUTH_INTERNAL_ERROR.reply],
      ['authn(internal_error)', REPLIES.AUTH_TEMPFAIL],
    )
  })
})
