// The entry ldap_auth's user search found at AUTH answers auth_relay's sender checks
// (MAIL FROM and From:) on a real Haraka and slapd: no second search, same answers;
// a login that is not the entry's identity as written falls back to the search.
import assert from 'node:assert/strict'
import { readFileSync, statSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { ALICE, BOB, message, startStack, type Stack } from '../harness/stack'

let stack: Stack

before(async () => {
  stack = await startStack()
})
after(async () => {
  await stack?.stop()
})

/** slapd's search operations logged from byte `from` on */
function searchesSince(from: number): string[] {
  const log = readFileSync(stack.slapd.logFile).subarray(from).toString('utf8')
  return log.split('\n').filter((line) => / SRCH base=/.test(line))
}
const logSize = () => statSync(stack.slapd.logFile).size

describe('the login entry found at AUTH', () => {
  test('MAIL FROM and the From: check after AUTH do no directory search', async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    const from = logSize()
    assert.equal((await c.mailFrom('a.liddell@example.com')).code, 250)
    assert.equal((await c.rcptTo('someone@elsewhere.example')).code, 250)
    const r = await c.data(message({ from: ALICE.login, to: 'someone@elsewhere.example' }))
    assert.equal(r.code, 250)
    await c.quit()
    assert.deepEqual(searchesSince(from), [])
  })

  test('an address the entry does not list is still refused, without a search', async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    const from = logSize()
    const r = await c.mailFrom(BOB.login)
    assert.equal(r.code, 553)
    await c.quit()
    assert.deepEqual(searchesSince(from), [])
  })

  test('a login written otherwise than its identity: auth_relay searches, with the same answer', async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain('ALICE@example.com', ALICE.password)).code, 235)
    const from = logSize()
    assert.equal((await c.mailFrom(ALICE.login)).code, 250)
    await c.quit()
    // slapd writes its log as it goes; the search is there by the time MAIL was answered
    assert.equal(searchesSince(from).length, 1)
  })
})
