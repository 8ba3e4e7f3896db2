// ldap_auth options end to end: account-state refusal (required group), PLAIN
// authzid for a proxy login, and a local service account from auth_enc_file.ini.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { sha512crypt } from '../../lib/authn/sha512crypt'
import { ALICE, BOB, startStack, type Stack } from '../harness/stack'

const CAROL = { login: 'carol@example.com', password: 'higher-further-faster' }
const SVC = { login: 'svc-backup@example.com', password: 'service-account-secret' }
let stack: Stack

before(async () => {
  stack = await startStack({
    files: {
      'ldap_auth.ini': [
        '[main]',
        'failure_delay=0',
        'require_group=cn=submitters,ou=groups,dc=example,dc=com',
        'proxy_logins=alice@example.com',
        'local_users=first',
        '',
      ].join('\n'),
      'auth_enc_file.ini': `[users]\n${SVC.login}=${sha512crypt(SVC.password, { rounds: 5000 })}\n`,
    },
  })
})
after(async () => {
  await stack?.stop()
})

describe('account state', () => {
  test('a right password outside the required group: 535 5.7.8; the log and results say why', async () => {
    const c = await stack.submission()
    const r = await c.authPlain(CAROL.login, CAROL.password)
    assert.deepEqual([r.code, r.enhanced], [535, '5.7.8'])
    assert.doesNotMatch(r.text, /group/i, 'the client is not told which check failed')
    const logs = stack.haraka.logs()
    assert.match(logs, /AUTH PLAIN failed for "carol@example\.com": authz\(not_in_required_group\)/)
    assert.match(
      logs,
      /\[ldap_auth\] fail:authz\(not_in_required_group\)/,
      'the results store records the reason',
    )
    assert.equal(
      (await (await stack.submission()).authPlain(BOB.login, BOB.password)).code,
      235,
      'a member gets in',
    )
  })
})

describe('PLAIN authorization identity', () => {
  test('a proxy login may act as another login, and the session then is that login', async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password, { authzid: BOB.login })).code, 235)
    assert.match(
      stack.haraka.logs(),
      /AUTH PLAIN succeeded for "alice@example\.com" acting as "bob@example\.com"/,
    )
    // auth_relay now checks senders against bob's entry.
    assert.equal((await c.mailFrom(BOB.login)).code, 250)
  })

  test('any other login giving a different authzid: 535 5.7.8', async () => {
    const c = await stack.submission()
    const r = await c.authPlain(BOB.login, BOB.password, { authzid: ALICE.login })
    assert.deepEqual([r.code, r.enhanced], [535, '5.7.8'])
    assert.match(
      stack.haraka.logs(),
      /AUTH PLAIN failed for "bob@example\.com": authz\(authzid_not_permitted\)/,
    )
  })
})

describe('local users (auth_enc_file.ini, local_users=first)', () => {
  test('a service account that is not in the directory authenticates from the file, with the same success contract', async () => {
    const c = await stack.submission()
    assert.equal((await c.authLogin(SVC.login, SVC.password)).code, 235)
    assert.match(stack.haraka.logs(), /AUTH LOGIN succeeded for "svc-backup@example\.com" \(local_ok\)/)
    // Authenticated like a directory user: relaying is allowed (auth_relay reads notes.auth_user).
    assert.equal((await c.send('RSET')).code, 250)
    const wrong = await (await stack.submission()).authPlain(SVC.login, 'not-it')
    assert.deepEqual([wrong.code, wrong.enhanced], [535, '5.7.8'])
    assert.ok(!stack.haraka.logs().includes(SVC.password))
  })
})
