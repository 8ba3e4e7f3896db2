// SMTP AUTH end to end: real Haraka with ldap_auth in front of a real slapd.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ALICE, BOB, startStack, type Stack } from './harness/stack'

let stack: Stack

before(async () => {
  stack = await startStack()
})
after(async () => {
  await stack?.stop()
})

describe('AUTH is offered and accepted only under TLS', () => {
  test('no AUTH in EHLO before STARTTLS, and AUTH then gets 538 5.7.11 without a 334', async () => {
    const c = await stack.inbound()
    const ehlo = await c.ehlo('client.example.net')
    assert.ok(ehlo.capabilities.some((cap) => /^STARTTLS$/i.test(cap)), 'STARTTLS offered')
    assert.ok(!ehlo.capabilities.some((cap) => /^AUTH\b/i.test(cap)), 'AUTH not offered in clear text')
    const r = await c.send('AUTH LOGIN')
    assert.equal(r.code, 538)
    assert.equal(r.enhanced, '5.7.11')
  })

  test('after STARTTLS, AUTH PLAIN LOGIN is offered', async () => {
    const c = await stack.submission()
    const ehlo = await c.ehlo('client.example.net')
    assert.ok(ehlo.capabilities.includes('AUTH PLAIN LOGIN'), ehlo.capabilities.join(','))
  })
})

describe('successful AUTH', () => {
  test('PLAIN over STARTTLS: 235 2.7.0', async () => {
    const c = await stack.submission()
    const r = await c.authPlain(ALICE.login, ALICE.password)
    assert.equal(r.code, 235)
    assert.equal(r.enhanced, '2.7.0')
  })

  test('LOGIN over STARTTLS with a bare uid', async () => {
    const c = await stack.submission()
    const r = await c.authLogin(BOB.uid, BOB.password)
    assert.equal(r.code, 235)
  })

  test('PLAIN and LOGIN over implicit TLS', async () => {
    const c1 = await stack.smtps()
    assert.equal((await c1.authPlain(ALICE.uid, ALICE.password, { initialResponse: false })).code, 235)
    const c2 = await stack.smtps()
    assert.equal((await c2.authLogin(ALICE.login, ALICE.password)).code, 235)
  })

  test('a second AUTH in the same session: 503 5.5.1', async () => {
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    const r = await c.authPlain(ALICE.login, ALICE.password)
    assert.equal(r.code, 503)
    assert.equal(r.enhanced, '5.5.1')
  })
})

describe('failed AUTH', () => {
  test('wrong password: 535 5.7.8', async () => {
    const c = await stack.submission()
    const r = await c.authPlain(ALICE.login, 'not-the-password')
    assert.equal(r.code, 535)
    assert.equal(r.enhanced, '5.7.8')
  })

  test('unknown user: 535 5.7.8, same reply as a wrong password', async () => {
    const c = await stack.submission()
    const r = await c.authLogin('mallory@example.com', 'whatever')
    assert.equal(r.code, 535)
    assert.equal(r.enhanced, '5.7.8')
  })

  test('empty password: 535, and no bind reaches the directory', async () => {
    const before = stack.slapd.logTail(100000)
    const binds = (log: string) => (log.match(/BIND dn="uid=alice,ou=people,dc=example,dc=com"/g) ?? []).length
    const c = await stack.submission()
    const r = await c.authPlain(ALICE.login, '')
    assert.equal(r.code, 535)
    // The server is configured to accept unauthenticated binds, so only our guard stops it.
    assert.equal(binds(stack.slapd.logTail(100000)), binds(before))
  })

  test('logins with LDAP metacharacters authenticate nobody and crash nothing', async () => {
    const attacks = ['*', 'alice)(uid=*', '*)(|(uid=*', 'alice\\', 'alice,ou=people', 'uid=alice,ou=people,dc=example,dc=com', 'alice+bob', 'a*', '(uid=alice)']
    for (const login of attacks) {
      const c = await stack.submission()
      const r = await c.authPlain(login, ALICE.password)
      assert.equal(r.code, 535, `login ${JSON.stringify(login)} got ${r.code}`)
      c.close()
    }
    // The server is still up and alice still works.
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
  })

  test('PLAIN with an authorization identity other than the login: 535 5.7.8', async () => {
    const c = await stack.submission()
    const r = await c.authPlain(ALICE.login, ALICE.password, { authzid: 'bob@example.com' })
    assert.equal(r.code, 535)
    assert.equal(r.enhanced, '5.7.8')
    assert.match(stack.haraka.logs(), /AUTH PLAIN failed for "alice@example.com": authz\(authzid_not_permitted\)/)
  })

  test('AUTH inside a mail transaction: 503 5.5.1', async () => {
    // The inbound port takes MAIL without AUTH; STARTTLS there makes AUTH possible at all.
    const c = await stack.inbound()
    assert.equal((await c.starttls()).code, 220)
    await c.ehlo('client.example.net')
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    const r = await c.authPlain(ALICE.login, ALICE.password)
    assert.equal(r.code, 503)
    assert.equal(r.enhanced, '5.5.1')
  })

  test('the password never appears in the Haraka log', async () => {
    const c = await stack.submission()
    await c.authLogin(ALICE.login, ALICE.password)
    await c.authPlain(ALICE.login, 'another-secret-xyz').catch(() => undefined)
    const logs = stack.haraka.logs()
    for (const secret of [ALICE.password, 'another-secret-xyz']) {
      assert.ok(!logs.includes(secret), `${secret} in log`)
      assert.ok(!logs.includes(Buffer.from(secret).toString('base64')), `${secret} (base64) in log`)
    }
  })
})
