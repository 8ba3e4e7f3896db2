// Relay and sender policy end to end: real Haraka with auth_relay, real slapd.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { listMessages, waitForMessage } from './harness/mail_sink'
import { ALICE, message, startStack, type Stack } from './harness/stack'

let stack: Stack

before(async () => {
  stack = await startStack()
})
after(async () => {
  await stack?.stop()
})

describe('relay', () => {
  test('unauthenticated relay from 127.0.0.1 is refused with 550 5.7.1', async () => {
    const c = await stack.inbound()
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    const r = await c.rcptTo('victim@elsewhere.example')
    assert.equal(r.code, 550)
    assert.equal(r.enhanced, '5.7.1')
    assert.match(stack.haraka.logs(), /RCPT "victim@elsewhere.example" refused: relaying denied/)
  })

  test('unauthenticated relay is refused on the submission port after STARTTLS too', async () => {
    const c = await stack.submission()
    const r = await c.mailFrom('someone@remote.example')
    assert.equal(r.code, 530)
    assert.equal(r.enhanced, '5.7.0')
  })

  test('local delivery without AUTH is accepted on the inbound port and stored', async () => {
    const c = await stack.inbound()
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    assert.equal((await c.rcptTo('alice@example.com')).code, 250)
    const subject = `local-${Date.now()}`
    assert.equal((await c.data(message({ from: 'someone@remote.example', to: 'alice@example.com', subject }))).code, 250)
    const m = await waitForMessage(stack.haraka.mailDir, (msg) => msg.eml.includes(subject))
    assert.deepEqual(m.envelope.rcpt_to, ['alice@example.com'])
    assert.equal(m.envelope.auth_user, null)
  })

  test('authenticated relay is accepted and stored', async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    assert.equal((await c.mailFrom(ALICE.login)).code, 250)
    assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
    const subject = `relay-${Date.now()}`
    assert.equal((await c.data(message({ from: ALICE.login, to: 'friend@remote.example', subject }))).code, 250)
    const m = await waitForMessage(stack.haraka.mailDir, (msg) => msg.eml.includes(subject))
    assert.equal(m.envelope.auth_user, ALICE.login)
    assert.deepEqual(m.envelope.rcpt_to, ['friend@remote.example'])
  })
})

describe('sender ownership', () => {
  test('an alias listed in the directory is accepted as MAIL FROM', async () => {
    const c = await stack.submission()
    assert.equal((await c.authLogin('alice', ALICE.password)).code, 235)
    assert.equal((await c.mailFrom('A.Liddell@Example.com')).code, 250)
  })

  test('a spoofed MAIL FROM is refused with 553 5.7.1 and nothing is stored', async () => {
    const before = listMessages(stack.haraka.mailDir).length
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    const r = await c.mailFrom('bob@example.com')
    assert.equal(r.code, 553)
    assert.equal(r.enhanced, '5.7.1')
    assert.match(stack.haraka.logs(), /MAIL refused for "alice@example.com": "bob@example.com" is not one of its addresses/)
    assert.equal(listMessages(stack.haraka.mailDir).length, before)
  })

  test('the null sender is refused for an authenticated session', async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    const r = await c.mailFrom('')
    assert.equal(r.code, 553)
    assert.equal(r.enhanced, '5.7.1')
  })
})
