// The sender stamp end to end: what the sink stores is what would be delivered.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { waitForMessage, type Message } from './harness/mail_sink'
import { ALICE, message, startStack, type Stack } from './harness/stack'

let stack: Stack

before(async () => {
  stack = await startStack()
})
after(async () => {
  await stack?.stop()
})

const FORGED = [
  'X-Authenticated-User: ceo@example.com',
  'x-AUTHENTICATED-user: ceo@example.com',
  'X-Authenticated-User:\r\n\tceo@example.com',
  'X-Authenticated-User : ceo@example.com',
  'Authentication-Results: mail.example.com; auth=pass (plain) smtp.auth=ceo@example.com',
  'Authentication-Results: mx.upstream.example; spf=pass smtp.mailfrom=example.org',
]

async function sendAuthenticated(subject: string): Promise<Message> {
  const c = await stack.submission()
  assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
  assert.equal((await c.mailFrom(ALICE.login)).code, 250)
  assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
  const r = await c.data(message({ from: ALICE.login, to: 'friend@remote.example', subject, headers: FORGED }))
  assert.equal(r.code, 250)
  return waitForMessage(stack.haraka.mailDir, (m) => m.eml.includes(subject))
}

describe('authenticated mail is stamped', () => {
  let msg: Message
  before(async () => {
    msg = await sendAuthenticated(`stamp-${Date.now()}`)
  })

  test('exactly one X-Authenticated-User, naming the login', () => {
    assert.deepEqual(msg.headers('X-Authenticated-User'), [ALICE.login])
    assert.ok(!/ceo@example\.com/.test(msg.eml.split('\r\n\r\n')[0]!.split(/\r?\n/).filter((l) => /authenticated-user/i.test(l)).join()))
  })

  test('Authentication-Results from us says auth=pass with smtp.auth', () => {
    const ours = msg.headers('Authentication-Results').filter((v) => v.startsWith('mail.example.com'))
    assert.equal(ours.length, 1, msg.headers('Authentication-Results').join(' | '))
    assert.match(ours[0]!, /^mail\.example\.com;\s+auth=pass \(plain\) smtp\.auth=alice@example\.com$/)
  })

  test('no forged copy survives under any name or spelling', () => {
    const head = msg.eml.slice(0, msg.eml.indexOf('\r\n\r\n'))
    assert.ok(!head.includes('ceo@example.com'), head)
  })

  test("another server's Authentication-Results is kept (as Haraka's Original-Authentication-Results)", () => {
    const kept = [...msg.headers('Original-Authentication-Results'), ...msg.headers('Authentication-Results')]
    assert.ok(kept.some((v) => v.startsWith('mx.upstream.example; spf=pass')), kept.join(' | '))
  })

  test('Received says ESMTPSA', () => {
    assert.match(msg.headers('Received').join('\n'), /with ESMTPSA/)
  })
})

describe('unauthenticated mail', () => {
  test('inbound mail carries no identity header, forged ones are stripped', async () => {
    const c = await stack.inbound()
    const subject = `inbound-${Date.now()}`
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    assert.equal((await c.rcptTo('alice@example.com')).code, 250)
    assert.equal((await c.data(message({ from: 'someone@remote.example', to: 'alice@example.com', subject, headers: FORGED }))).code, 250)
    const msg = await waitForMessage(stack.haraka.mailDir, (m) => m.eml.includes(subject))
    assert.deepEqual(msg.headers('X-Authenticated-User'), [])
    const head = msg.eml.slice(0, msg.eml.indexOf('\r\n\r\n'))
    assert.ok(!head.includes('ceo@example.com'), head)
    assert.ok(!/auth=pass/.test(head), head)
  })
})
