// The AUTH limiter's containment trigger end to end (auth_limits.ini
// suspend_unfamiliar_after_failures): a right password from an unfamiliar source
// right after a burst of failed ones logs in, and the login is suspended, so
// auth_relay refuses to relay for it (550 5.7.1) while other logins go on.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { ALICE, BOB, startStack, type Stack } from '../harness/stack'

let stack: Stack

before(async () => {
  stack = await startStack({
    ini: {
      'auth_limits.ini': {
        main: {
          enabled: 'true',
          secret: 'e2e-secret-of-sixteen-or-more',
          login_failures: '50',
          ip_failures: '50',
          pair_failures: '50',
          subnet_failures: '1000',
          delay_after: '100',
          suspend_unfamiliar_after_failures: 'true',
          suspend_burst: '3',
        },
      },
    },
    files: { 'ldap_auth.ini': '[main]\nfailure_delay=0\nmax_failures=50\n' },
  })
})
after(async () => {
  await stack?.stop()
})

async function authThenMail(from: string, login: string, password: string, sender: string) {
  const c = await stack.submission(from)
  try {
    const auth = await c.authPlain(login, password)
    const mail = auth.code === 235 ? await c.mailFrom(sender) : undefined
    return { auth, mail }
  } finally {
    c.close()
  }
}

// The login is alice's uid; the suspension is made for the session's user (the verdict's,
// e.g. a PLAIN authzid's for a proxy login), which is what auth_relay looks up.
test('a success from an unfamiliar source after a burst of failures suspends the login: 235, then 550 5.7.1 at MAIL', async () => {
  for (const wrong of ['guess-1', 'guess-2', 'guess-3']) {
    const { auth } = await authThenMail('127.91.1.1', ALICE.uid, wrong, ALICE.login)
    assert.equal(auth.code, 535, `wrong password ${wrong}: ${auth.text}`)
  }
  const { auth, mail } = await authThenMail('127.92.1.1', ALICE.uid, ALICE.password, ALICE.login)
  assert.equal(auth.code, 235, auth.text)
  assert.equal(mail?.code, 550, mail?.text)
  assert.equal(mail?.enhanced, '5.7.1')
  assert.match(mail!.text, /unfamiliar_after_failures/)
  // Another login is untouched, from the same unfamiliar source.
  const other = await authThenMail('127.92.1.1', BOB.login, BOB.password, BOB.login)
  assert.equal(other.auth.code, 235)
  assert.equal(other.mail?.code, 250, other.mail?.text)
})

test('without a burst before it, an unfamiliar success is not suspended', async () => {
  const { auth, mail } = await authThenMail('127.93.1.1', BOB.login, BOB.password, BOB.login)
  assert.equal(auth.code, 235)
  assert.equal(mail?.code, 250, mail?.text)
})
