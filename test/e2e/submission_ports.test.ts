// MAIL without AUTH on the real submission ports 587 and 465: Haraka core would
// answer a bare 550 before any hook; auth_relay's per-connection gate answers
// 530 5.7.0 first. Needs root (ports below 1024); Haraka listens on a random
// 127.x.y.z so it cannot collide with anything on 127.0.0.1:587.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { isListening } from '../../demo/ports'
import { SmtpClient } from '../../demo/smtp_client'
import { ALICE, startStack, waitForLog, type Stack } from '../harness/stack'

const ROOT = process.getuid?.() === 0
const skip = ROOT ? false : 'needs root to listen on ports 587 and 465 (run the suite as root)'

async function freeLoopbackHost(): Promise<string> {
  for (;;) {
    const rnd = (n: number) => 1 + Math.floor(Math.random() * n)
    const host = `127.${rnd(250)}.${rnd(250)}.${rnd(250)}`
    const busy = await Promise.all([587, 465].map((p) => isListening(p, 300, host)))
    if (!busy.some(Boolean)) return host
  }
}

let stack: Stack
before(async () => {
  if (!ROOT) return
  stack = await startStack({ host: await freeLoopbackHost(), ports: { submission: 587, smtps: 465 } })
})
after(async () => {
  await stack?.stop()
})

describe('submission ports 587 and 465', { skip }, () => {
  test("587 after STARTTLS, no AUTH: 530 5.7.0, not core's 550, reason logged", async () => {
    assert.equal(stack.haraka.ports.submission, 587)
    const c = await stack.submission()
    const r = await c.mailFrom('someone@remote.example')
    assert.equal(r.code, 530, r.lines.join(' | '))
    assert.equal(r.enhanced, '5.7.0')
    assert.equal(r.text, 'Authentication required')
    await waitForLog(stack.haraka, 'MAIL refused on submission port 587: not authenticated')
  })

  test('587 in plain text and 465 with implicit TLS: 530 5.7.0', async () => {
    const plain = await SmtpClient.connect({ host: stack.haraka.host, port: 587 })
    await plain.ehlo('client.example.net')
    const r = await plain.mailFrom('someone@remote.example')
    assert.equal(r.code, 530)
    assert.equal(r.enhanced, '5.7.0')
    plain.close()
    const smtps = await stack.smtps()
    const s = await smtps.mailFrom('someone@remote.example')
    assert.equal(s.code, 530)
    assert.equal(s.enhanced, '5.7.0')
  })

  test('before EHLO core still answers 503 first', async () => {
    const c = await SmtpClient.connect({ host: stack.haraka.host, port: 587 })
    const r = await c.mailFrom('someone@remote.example')
    assert.equal(r.code, 503)
    c.close()
  })

  test('after AUTH, MAIL and relaying work on 587 and 465', async () => {
    for (const c of [await stack.submission(), await stack.smtps()]) {
      assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
      assert.equal((await c.mailFrom(ALICE.login)).code, 250)
      assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
    }
  })

  test('the inbound port keeps taking local mail without AUTH', async () => {
    const c = await stack.inbound()
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    assert.equal((await c.rcptTo('alice@example.com')).code, 250)
  })

  test('a trusted network may submit on 587 without AUTH (core would refuse it)', async () => {
    writeFileSync(
      path.join(stack.haraka.dir, 'config', 'auth_relay.ini'),
      '[main]\nsubmission_ports=587,465\ntrusted_networks=127.0.0.0/8\n',
    )
    let code = 0
    for (let i = 0; i < 100 && code !== 250; i++) {
      await sleep(100)
      const c = await stack.submission()
      code = (await c.mailFrom('someone@remote.example')).code
      if (code === 250) assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
      c.close()
    }
    assert.equal(code, 250, 'MAIL accepted on 587 from the trusted network after the reload')
    await waitForLog(stack.haraka, /trusted network 127\.\d+\.\d+\.\d+: relaying without AUTH on port 587/)
  })
})
