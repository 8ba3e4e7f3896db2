// The AUTH deadline on real Haraka and slapd: with Haraka's plugin timeout for
// ldap_auth at 3 s (config/ldap_auth.timeout) and a directory that takes longer,
// the client gets our 454 4.7.0, not Haraka's permanent "500 plugin timeout",
// and a verdict that arrives later neither answers a later command nor
// authenticates the session.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { ALICE, startStack, waitForLog, type Stack } from '../harness/stack'

const PLUGIN_TIMEOUT_S = 3
/** hookDeadlineMs: the plugin timeout less a quarter (at most 2 s) */
const DEADLINE = 2250

let stack: Stack
before(async () => {
  stack = await startStack({
    files: {
      'ldap_auth.timeout': `${PLUGIN_TIMEOUT_S}\n`,
      'ldap_auth.ini': '[main]\nmax_failures=10\nfailure_delay=4000\nfailure_delay_max=4000\n',
    },
    // Operations may take 10 s: longer than the plugin timeout.
    ini: { 'ldap_directory.ini': { main: { timeout: '10000' } } },
  })
})
after(async () => {
  stack?.slapd.signal('SIGCONT')
  await stack?.stop()
})

describe('AUTH within the plugin timeout', () => {
  test('at load: the directory timeouts that cannot fit are logged as a warning', async () => {
    await waitForLog(
      stack.haraka,
      /ldap_auth: the directory timeouts \(ldap_directory\.ini: 1 server\(s\), connect_timeout=3000, timeout=10000\) let one AUTH wait up to \d+ ms: beyond 2250 ms it is answered 454 4\.7\.0/,
    )
  })

  test('a hung directory: 454 4.7.0 before the plugin timeout; the late verdict is dropped; the session is not authenticated', async () => {
    const warm = await stack.submission()
    assert.equal((await warm.authPlain(ALICE.login, ALICE.password)).code, 235, 'pools warm')
    warm.close()

    const c = await stack.submission()
    stack.slapd.signal('SIGSTOP')
    let t = Date.now()
    let r
    try {
      r = await c.authPlain(ALICE.login, ALICE.password)
    } finally {
      stack.slapd.signal('SIGCONT')
    }
    const ms = Date.now() - t
    assert.deepEqual([r.code, r.enhanced], [454, '4.7.0'], r.lines.join(' | '))
    assert.ok(ms >= DEADLINE - 200 && ms < PLUGIN_TIMEOUT_S * 1000, `454 after ${ms} ms`)
    // slapd answers the bind now; ldap_auth logs and drops that verdict.
    await waitForLog(
      stack.haraka,
      /AUTH PLAIN for "alice@example\.com": verdict authn\(bind_ok\) came after \d+ ms, when 454 had been answered: ignored/,
    )
    await sleep(500)
    t = Date.now()
    const noop = await c.send('NOOP')
    assert.equal(noop.code, 250, `NOOP got ${noop.lines.join(' | ')}`)
    const mail = await c.mailFrom(ALICE.login)
    assert.equal(mail.code, 530, `MAIL in an unauthenticated session: ${mail.lines.join(' | ')}`)
    assert.doesNotMatch(stack.haraka.logs(), /timed out on hook|ran callback multiple times/)
    // The same session may try again and succeed.
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
  })

  test('a failure delay longer than the time left: 535 before the plugin timeout, nothing after it', async () => {
    const c = await stack.submission()
    const t = Date.now()
    const r = await c.authPlain(ALICE.login, 'wrong-password')
    const ms = Date.now() - t
    assert.deepEqual([r.code, r.enhanced], [535, '5.7.8'])
    assert.ok(ms < PLUGIN_TIMEOUT_S * 1000, `535 after ${ms} ms (failure_delay 4000 cut to the deadline)`)
    await sleep(PLUGIN_TIMEOUT_S * 1000 - ms + 500)
    assert.equal((await c.send('NOOP')).code, 250, 'no stray reply')
    assert.doesNotMatch(stack.haraka.logs(), /timed out on hook|ran callback multiple times/)
  })
})
