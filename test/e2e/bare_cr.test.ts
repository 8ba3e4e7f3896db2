// Bare CR in message data, end to end on real Haraka (and slapd for AUTH): a CR that no LF follows
// is refused with 550 5.6.0 on inbound and on authenticated relay (auth_stamp's bare_cr, default
// refuse); with bare_cr=remove (reloaded) the message is delivered without it, with bare_cr=allow
// as sent. A normal message is delivered unchanged. The hostile body is the SMTP smuggling shape:
// "\r.\r" would end DATA at a next hop that ends lines at CR, and what follows would be commands.
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { listMessages, waitForMessage } from '../harness/mail_sink'
import { ALICE, message, startStack, waitForLog, type Stack } from '../harness/stack'
import { stampResults } from '../harness/stamp_checks'
import type { SmtpClient } from '../../demo/smtp_client'

let stack: Stack

before(async () => {
  stack = await startStack()
})
after(async () => {
  await stack?.stop()
})

/** The body of a stored message: everything after the first empty line (CRLF kept, bare CRs too). */
function bodyOf(eml: string): string {
  const end = eml.indexOf('\r\n\r\n')
  assert.ok(end >= 0, 'the stored message has a header section')
  return eml.slice(end + 4)
}

const SMUGGLED = 'line one\r.\rMAIL FROM:<ceo@example.com>\r\n'

/** A message whose header section is clean and whose body (data line 7) holds two bare CRs. */
function hostile(from: string, to: string, subject: string, extraBody = ''): string {
  return message({ from, to, subject, body: `${SMUGGLED}${extraBody}after the dot` })
}

/** Haraka's log from here on: what the next transaction wrote. */
function logMark(): () => string {
  const start = stack.haraka.logs().length
  return () => stack.haraka.logs().slice(start)
}

async function inboundTxn(c: SmtpClient): Promise<void> {
  assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
  assert.equal((await c.rcptTo('alice@example.com')).code, 250)
}

async function relayTxn(c: SmtpClient): Promise<void> {
  assert.equal((await c.mailFrom(ALICE.login)).code, 250)
  assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
}

async function alice(): Promise<SmtpClient> {
  const c = await stack.submission()
  assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
  return c
}

/** Rewrite the instance's auth_stamp.ini and wait until auth_stamp has loaded it. */
async function reloadStamp(bareCr: string, loaded: RegExp): Promise<void> {
  const ini = path.join(stack.haraka.dir, 'config', 'auth_stamp.ini')
  const text = readFileSync(ini, 'utf8').replace(/^;?bare_cr=.*$/m, `bare_cr=${bareCr}`)
  assert.match(text, new RegExp(`^bare_cr=${bareCr}$`, 'm'))
  writeFileSync(ini, text)
  await waitForLog(stack.haraka, loaded, 15_000)
}

describe('bare_cr=refuse (the default)', () => {
  test('inbound: 550 5.6.0 with the reason logged, nothing stored; the session goes on and a clean message is delivered unchanged', async () => {
    const c = await stack.inbound()
    const logs = logMark()
    const subject = `barecr-in-${Date.now()}`
    await inboundTxn(c)
    const r = await c.dataRaw(hostile('someone@remote.example', 'alice@example.com', subject))
    assert.equal(r.code, 550, r.lines.join(' | '))
    assert.equal(r.enhanced, '5.6.0')
    assert.equal(r.text, 'Message refused: bare CR in the data; lines must end in CRLF')
    await waitForLog(stack.haraka, /\[auth_stamp\] fail:bare_cr\(refused\)/)
    assert.match(
      logs(),
      /\[auth_stamp\] message refused: 2 bare CR\(s\) in 1 line\(s\), the first in data line 7 \(body\)/,
    )
    assert.equal(listMessages(stack.haraka.mailDir).filter((m) => m.eml.includes(subject)).length, 0)

    // Same session: the next transaction is judged on its own.
    const clean = `barecr-clean-${Date.now()}`
    const body = 'First line.\r\n.A line that starts with a dot.\r\n\r\nLast line.\r\n'
    await inboundTxn(c)
    const sent = message({ from: 'someone@remote.example', to: 'alice@example.com', subject: clean, body })
    assert.equal((await c.data(sent)).code, 250)
    const msg = await waitForMessage(stack.haraka.mailDir, (m) => m.eml.includes(clean))
    assert.equal(bodyOf(msg.eml), `${body}\r\n`, 'the body as sent (the client adds one CRLF)')
    assert.equal(stampResults(stack.haraka.logs(), msg.uuid), 'skip:stamp(unauthenticated)')
    await c.quit()
  })

  test('authenticated relay: 550 5.6.0, also for a bare CR in the header section', async () => {
    const c = await alice()
    const logs = logMark()
    await relayTxn(c)
    const r = await c.dataRaw(hostile(ALICE.login, 'friend@remote.example', `barecr-out-${Date.now()}`))
    assert.equal(`${r.code} ${r.enhanced}`, '550 5.6.0', r.lines.join(' | '))

    await relayTxn(c)
    const head = `From: ${ALICE.login}\r\nTo: friend@remote.example\r\nSubject: hi\rBcc: ceo@example.com\r\n\r\nbody\r\n`
    const r2 = await c.dataRaw(head)
    assert.equal(`${r2.code} ${r2.enhanced}`, '550 5.6.0', r2.lines.join(' | '))
    await waitForLog(stack.haraka, /the first in data line 3 \(header\)/)
    assert.equal(logs().match(/\[auth_stamp\] fail:bare_cr\(refused\)/g)?.length, 2)
    await c.quit()
  })
})

describe('bare_cr=remove (reloaded)', () => {
  before(async () => {
    await reloadStamp('remove', /\[auth_stamp\] .*; bare CR removed/)
  })

  test('inbound and relayed: delivered without bare CRs; a line that becomes "." is kept, nothing is cut off', async () => {
    const inSubject = `barecr-rm-in-${Date.now()}`
    const c = await stack.inbound()
    await inboundTxn(c)
    const r = await c.dataRaw(hostile('someone@remote.example', 'alice@example.com', inSubject, '\r.\r\n'))
    assert.equal(r.code, 250, r.lines.join(' | '))
    const inbound = await waitForMessage(stack.haraka.mailDir, (m) => m.eml.includes(inSubject))
    assert.equal(bodyOf(inbound.eml), 'line one.MAIL FROM:<ceo@example.com>\r\n.\r\nafter the dot\r\n')
    assert.doesNotMatch(inbound.eml, /\r(?!\n)/)
    assert.equal(
      stampResults(stack.haraka.logs(), inbound.uuid),
      'pass:bare_cr(removed), skip:stamp(unauthenticated)',
    )
    await c.quit()

    const outSubject = `barecr-rm-out-${Date.now()}`
    const a = await alice()
    await relayTxn(a)
    const legacy = `From: ${ALICE.login}\r\r\nTo: friend@remote.example\r\r\nSubject: ${outSubject}\r\r\n\r\r\nold mailer\r\r\n`
    const r2 = await a.dataRaw(legacy)
    assert.equal(r2.code, 250, r2.lines.join(' | '))
    const relayed = await waitForMessage(stack.haraka.mailDir, (m) => m.eml.includes(outSubject))
    assert.doesNotMatch(relayed.eml, /\r(?!\n)/)
    // auth_relay's From check and the stamp saw the repaired header
    assert.deepEqual(relayed.headers('X-Authenticated-User'), [ALICE.login])
    assert.deepEqual(relayed.headers('Subject'), [outSubject])
    assert.equal(bodyOf(relayed.eml), 'old mailer\r\n')
    // the legacy message has no Date or Message-ID: the submission gets both (add_date_message_id)
    assert.equal(
      stampResults(stack.haraka.logs(), relayed.uuid),
      'pass:bare_cr(removed), stamp(date_added), stamp(message_id_added), stamp(identity)',
    )
    assert.equal(relayed.headers('Date').length, 1)
    assert.equal(relayed.headers('Message-ID').length, 1)
    assert.match(
      stack.haraka.logs(),
      /removed 5 bare CR\(s\) in 5 line\(s\), the first in data line 1 \(header\) \(bare_cr=remove\)/,
    )
    await a.quit()
  })
})

describe('bare_cr=allow (reloaded last)', () => {
  before(async () => {
    await reloadStamp(
      'allow',
      /auth_stamp\.ini: bare_cr=allow: a message with a bare CR is delivered as sent/,
    )
  })

  test('delivered as sent, logged and recorded', async () => {
    const subject = `barecr-allow-${Date.now()}`
    const c = await stack.inbound()
    await inboundTxn(c)
    const r = await c.dataRaw(hostile('someone@remote.example', 'alice@example.com', subject))
    assert.equal(r.code, 250, r.lines.join(' | '))
    const msg = await waitForMessage(stack.haraka.mailDir, (m) => m.eml.includes(subject))
    assert.equal(bodyOf(msg.eml), `${SMUGGLED}after the dot\r\n`)
    assert.equal(stampResults(stack.haraka.logs(), msg.uuid), 'skip:bare_cr(allowed), stamp(unauthenticated)')
    assert.match(
      stack.haraka.logs(),
      /delivered as sent with 2 bare CR\(s\) in 1 line\(s\), the first in data line 7 \(body\) \(bare_cr=allow\)/,
    )
    await c.quit()
  })
})
