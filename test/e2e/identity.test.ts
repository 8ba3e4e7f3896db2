// The session identity end to end, on real Haraka and slapd: ldap_auth records the
// part of the login the directory matched (here the uid of template mode
// `uid=%l,...`), never text the directory ignored, and auth_relay and auth_stamp
// work from that identity.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { headerSection, waitForMessage } from '../harness/mail_sink'
import { ALICE, message, startStack, waitForLog, type Stack } from '../harness/stack'

let stack: Stack

before(async () => {
  stack = await startStack({
    ini: {
      'ldap_directory.ini': { main: { mode: 'template', dn_template: 'uid=%l,ou=people,dc=example,dc=com' } },
      'ldap_auth.ini': { main: { failure_delay: '0' } },
    },
  })
})
after(async () => {
  await stack?.stop()
})

describe('template mode uid=%l: the domain of the login is not part of the identity', () => {
  test('alice logging in as alice@ceo.example is stamped and recorded as alice', async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain('alice@ceo.example', ALICE.password)).code, 235)
    // auth_relay finds alice's entry from the identity: her own address is hers.
    assert.equal((await c.mailFrom(ALICE.login)).code, 250)
    assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
    const subject = `identity-${Date.now()}`
    assert.equal(
      (await c.data(message({ from: ALICE.login, to: 'friend@remote.example', subject }))).code,
      250,
    )
    const m = await waitForMessage(stack.haraka.mailDir, (x) => x.eml.includes(subject))
    const head = headerSection(m.eml)
    assert.ok(
      m.eml.startsWith(
        'Authentication-Results: mail.example.com;\r\n' +
          '\tauth=pass (plain) smtp.auth=alice smtp.mailfrom=alice@example.com\r\n' +
          'X-Authenticated-User: alice\r\n',
      ),
      head,
    )
    assert.ok(!head.includes('ceo.example'), head)
    assert.equal(m.envelope.auth_user, 'alice')
    assert.match(stack.haraka.logs(), /AUTH PLAIN succeeded for "alice@ceo\.example" as "alice" \(bind_ok\)/)
  })

  test('a login whose ignored part holds white space or ";" is refused: 535 5.7.8, with the reason logged', async () => {
    for (const login of ['alice@x; dkim=pass header.d=bank.example', 'alice@x;dkim=pass', 'alice@x y']) {
      const c = await stack.submission()
      const r = await c.authPlain(login, ALICE.password)
      assert.deepEqual([r.code, r.enhanced], [535, '5.7.8'], login)
      await waitForLog(
        stack.haraka,
        `AUTH PLAIN failed for ${JSON.stringify(login)}: authz(ignored_login_text)`,
      )
    }
    assert.match(
      stack.haraka.logs(),
      /\[ldap_auth\] fail:authz\(ignored_login_text\)/,
      'the results store records the reason',
    )
  })

  test('the login as given, when the directory matched all of it, is still alice', async () => {
    const c = await stack.smtps()
    assert.equal((await c.authLogin(ALICE.uid, ALICE.password)).code, 235)
    assert.equal((await c.mailFrom(ALICE.login)).code, 250)
  })
})
