// The audit trail on real Haraka and slapd: an AUTH success, an AUTH failure, a
// relay refusal and a sender refusal each write exactly one `audit {...}` line,
// checked field by field; the whole log never holds a password or its base64.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { AUDIT_FIELDS } from '../../lib/audit'
import { ALICE, BOB, startStack, waitForLog, type Stack } from '../harness/stack'
import type { SmtpClient } from '../../demo/smtp_client'

let stack: Stack

before(async () => {
  stack = await startStack()
})
after(async () => {
  await stack?.stop()
})

type Audit = Record<(typeof AUDIT_FIELDS)[number], any>

function audits(): Audit[] {
  return stack.haraka
    .logs()
    .split('\n')
    .filter((l) => l.includes('] audit {'))
    .map((l) => JSON.parse(l.slice(l.indexOf('] audit {') + '] audit '.length)))
}

/**
 * The audit lines of one session, once it has ended: QUIT, then Haraka's own
 * `disconnect` line for the session, which it logs after every line of the session.
 */
async function sessionAudits(c: SmtpClient, before: number): Promise<Audit[]> {
  const deadline = Date.now() + 5000
  while (audits().length <= before) {
    assert.ok(Date.now() < deadline, 'no audit line within 5 s')
    await sleep(50)
  }
  const session = audits()[before]!.session as string
  await c.quit()
  // the session's lines, and its transactions' (`<uuid>.<n>`), come before its disconnect line
  await waitForLog(stack.haraka, new RegExp(`\\[${session}(\\.\\d+)?\\] \\[core\\] disconnect`))
  return audits().filter((a) => a.session === session)
}

/** `server`: the directory server that answered (AUTH decisions); null for a policy refusal. */
function basics(a: Audit, port: number, tls: boolean, server: string | null = null) {
  assert.deepEqual(Object.keys(a), [...AUDIT_FIELDS])
  assert.match(a.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  assert.ok(Math.abs(Date.parse(a.time) - Date.now()) < 60_000)
  assert.match(a.session, /^[0-9A-F-]{36}(\.\d+)?$/)
  assert.equal(a.client_ip, '127.0.0.1')
  assert.equal(a.local_port, port)
  assert.equal(a.tls, tls)
  if (tls) assert.match(a.tls_protocol, /^TLSv1\.[23]$/)
  else assert.equal(a.tls_protocol, null)
  assert.equal(a.server, server)
  assert.equal(a.limiter, null)
}

describe('audit trail', () => {
  test('AUTH success: one line, login and identity, PLAIN, 235 2.7.0, the server that answered, elapsed ms', async () => {
    const n = audits().length
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    const [a, ...more] = await sessionAudits(c, n)
    assert.equal(more.length, 0, 'exactly one audit line')
    basics(a!, stack.haraka.ports.submission, true, stack.slapd.url)
    assert.equal(a!.login, ALICE.login)
    assert.equal(a!.identity, ALICE.login)
    assert.equal(a!.acts_as, null)
    assert.equal(a!.mechanism, 'PLAIN')
    assert.equal(a!.plugin, 'ldap_auth')
    assert.equal(a!.outcome, 'pass')
    assert.equal(a!.rule, 'authn')
    assert.equal(a!.reason, 'bind_ok')
    assert.equal(a!.label, 'authn(bind_ok)')
    assert.equal(a!.code, 235)
    assert.equal(a!.enhanced_code, '2.7.0')
    assert.equal(typeof a!.elapsed_ms, 'number')
    assert.ok(a!.elapsed_ms >= 0)
  })

  test('AUTH failure (LOGIN, wrong password): one line, no identity, 535 5.7.8, the server that said no', async () => {
    const n = audits().length
    const c = await stack.submission()
    assert.equal((await c.authLogin(BOB.login, 'not-bobs-password-31')).code, 535)
    const [a, ...more] = await sessionAudits(c, n)
    assert.equal(more.length, 0, 'exactly one audit line')
    basics(a!, stack.haraka.ports.submission, true, stack.slapd.url)
    assert.equal(a!.login, BOB.login)
    assert.equal(a!.identity, null)
    assert.equal(a!.mechanism, 'LOGIN')
    assert.equal(a!.plugin, 'ldap_auth')
    assert.equal(a!.outcome, 'fail')
    assert.equal(a!.label, 'authn(invalid_credentials)')
    assert.equal(a!.code, 535)
    assert.equal(a!.enhanced_code, '5.7.8')
    assert.ok(a!.elapsed_ms >= 0)
  })

  test('relay refusal (no AUTH, inbound port): one line, 550 5.7.1, no login', async () => {
    const n = audits().length
    const c = await stack.inbound()
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    assert.equal((await c.rcptTo('victim@elsewhere.example')).code, 550)
    const [a, ...more] = await sessionAudits(c, n)
    assert.equal(more.length, 0, 'exactly one audit line')
    basics(a!, stack.haraka.ports.inbound, false)
    assert.equal(a!.login, null)
    assert.equal(a!.identity, null)
    assert.equal(a!.mechanism, null)
    assert.equal(a!.plugin, 'auth_relay')
    assert.equal(a!.outcome, 'fail')
    assert.equal(a!.label, 'rcpt(relay_denied)')
    assert.equal(a!.code, 550)
    assert.equal(a!.enhanced_code, '5.7.1')
    assert.equal(a!.elapsed_ms, null)
  })

  test('sender refusal (alice as bob): the AUTH line, then one sender line naming alice, 553 5.7.1', async () => {
    const n = audits().length
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    assert.equal((await c.mailFrom(BOB.login)).code, 553)
    const lines = await sessionAudits(c, n)
    assert.deepEqual(
      lines.map((a) => a.label),
      ['authn(bind_ok)', 'sender(not_owned)'],
    )
    const a = lines[1]!
    basics(a, stack.haraka.ports.submission, true)
    assert.equal(a.login, null)
    assert.equal(a.identity, ALICE.login)
    assert.equal(a.mechanism, 'PLAIN')
    assert.equal(a.plugin, 'auth_relay')
    assert.equal(a.outcome, 'fail')
    assert.equal(a.rule, 'sender')
    assert.equal(a.reason, 'not_owned')
    assert.equal(a.code, 553)
    assert.equal(a.enhanced_code, '5.7.1')
  })

  test('the whole log holds no password, nor its base64, nor a PLAIN blob', () => {
    const logs = stack.haraka.logs()
    const b64 = (s: string) => Buffer.from(s).toString('base64')
    for (const secret of [
      ALICE.password,
      'not-bobs-password-31',
      b64(ALICE.password),
      b64('not-bobs-password-31'),
      b64(`\0${ALICE.login}\0${ALICE.password}`),
      b64(`${ALICE.login}\0${ALICE.login}\0${ALICE.password}`),
    ])
      assert.ok(!logs.includes(secret), `the log holds ${secret}`)
    assert.ok(audits().length >= 5)
  })
})
