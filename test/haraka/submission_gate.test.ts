// The per-connection cmd_mail override (haraka/submission_gate.ts) on a
// stand-in class with Haraka's dispatch shape; the real thing runs on port 587
// in test/e2e/submission_ports.test.ts.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Connection } from 'haraka'
import { installMailGate } from '../../haraka/submission_gate'
import type { MailGateDecision } from '../../lib/authz/submission'
import { REPLIES } from '../../lib/replies'

class FakeConnection {
  hello: { host: string | null } = { host: 'client.example' }
  errors = 0
  relaying = false
  replies: string[] = []
  coreCalls: string[] = []
  respond(code: number, msg: string) {
    this.replies.push(`${code} ${msg}`)
  }
  cmd_mail(line: string) {
    this.coreCalls.push(`${line} relaying=${this.relaying}`)
  }
  // Haraka's process_line: this[`cmd_${verb}`](rest)
  dispatch(verb: string, rest: string) {
    ;(this as unknown as Record<string, (l: string) => void>)[`cmd_${verb}`]!(rest)
  }
}

function gated(decision: MailGateDecision) {
  const c = new FakeConnection()
  const refused: unknown[] = []
  const ok = installMailGate(
    c as unknown as Connection,
    () => decision,
    REPLIES.SUBMISSION_AUTH_REQUIRED,
    (conn) => refused.push(conn),
  )
  return { c, ok, refused }
}

describe('installMailGate', () => {
  test('refuse: 530 5.7.0, core not called, error counted, callback told', () => {
    const { c, ok, refused } = gated('refuse')
    assert.equal(ok, true)
    c.dispatch('mail', 'FROM:<a@example.com>')
    assert.deepEqual(c.replies, ['530 5.7.0 Authentication required'])
    assert.deepEqual(c.coreCalls, [])
    assert.equal(c.errors, 1)
    assert.equal(refused.length, 1)
  })
  test('core: the prototype method runs with the same line', () => {
    const { c } = gated('core')
    c.dispatch('mail', 'FROM:<a@example.com> SIZE=10')
    assert.deepEqual(c.coreCalls, ['FROM:<a@example.com> SIZE=10 relaying=false'])
    assert.deepEqual(c.replies, [])
  })
  test('relay: the session is marked relaying before core runs', () => {
    const { c } = gated('relay')
    c.dispatch('mail', 'FROM:<a@example.com>')
    assert.deepEqual(c.coreCalls, ['FROM:<a@example.com> relaying=true'])
  })
  test('before EHLO core answers (503), whatever the decision', () => {
    const { c } = gated('refuse')
    c.hello.host = null
    c.dispatch('mail', 'FROM:<a@example.com>')
    assert.deepEqual(c.replies, [])
    assert.equal(c.coreCalls.length, 1)
  })
  test('only this connection is affected; no cmd_mail on the prototype: not installed', () => {
    gated('refuse')
    const other = new FakeConnection()
    other.dispatch('mail', 'FROM:<a@example.com>')
    assert.equal(other.coreCalls.length, 1)
    const bare = Object.create({ respond() {} }) as Connection
    assert.equal(
      installMailGate(
        bare,
        () => 'refuse',
        REPLIES.SUBMISSION_AUTH_REQUIRED,
        () => undefined,
      ),
      false,
    )
  })
})
