// lib/authz/submission: the one rule for MAIL without AUTH on a submission
// port, as the gate ahead of Haraka core and the mail hook both apply it.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { authRequired, submissionGate, type Submitter } from '../../../lib/authz/submission'
import { REPLIES } from '../../../lib/replies'

const ours = new Set([587, 465, 2587])
const nobody: Submitter = { port: 2587, authenticated: false, trusted: false, relaying: false }

describe('submissionGate', () => {
  test('our submission ports: refused without AUTH, even for a session another plugin lets relay', () => {
    assert.equal(submissionGate(ours, nobody), 'refuse')
    assert.equal(submissionGate(ours, { ...nobody, relaying: true }), 'refuse')
    assert.equal(submissionGate(ours, { ...nobody, authenticated: true }), 'core')
  })
  test('a trusted network submits without AUTH; on 587/465 it is marked relaying so core lets it through', () => {
    assert.equal(submissionGate(ours, { ...nobody, trusted: true }), 'core')
    assert.equal(submissionGate(ours, { ...nobody, port: 587, trusted: true }), 'relay')
    assert.equal(submissionGate(ours, { ...nobody, port: 465, trusted: true, relaying: true }), 'core')
  })
  test("core's ports refuse without AUTH even when not listed (530 5.7.0 instead of core's 550), unless relaying", () => {
    const only2587 = new Set([2587])
    assert.equal(submissionGate(only2587, { ...nobody, port: 587 }), 'refuse')
    assert.equal(submissionGate(only2587, { ...nobody, port: 465, relaying: true }), 'core')
    assert.equal(submissionGate(only2587, { ...nobody, port: 465, trusted: true }), 'relay')
  })
  test('any other port (25) is not a submission port', () => {
    assert.equal(submissionGate(ours, { ...nobody, port: 25 }), 'core')
    assert.equal(submissionGate(ours, { ...nobody, port: 25, trusted: true }), 'core')
  })
  test('the refusal: fail mail(auth_required), 530 5.7.0, the port in the detail', () => {
    assert.deepEqual(authRequired(587), {
      plugin: 'auth_relay',
      rule: 'mail',
      reason: 'auth_required',
      verdict: 'fail',
      reply: REPLIES.SUBMISSION_AUTH_REQUIRED,
      detail: 'on submission port 587: not authenticated',
    })
  })
})
