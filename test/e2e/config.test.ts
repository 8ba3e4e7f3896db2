// Configuration in a running Haraka: a bad value stops startup with a clear
// message; an edit is picked up without a restart; a bad edit keeps the old config.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startHaraka } from '../harness/haraka'
import { ALICE, FIXTURE_DIR, startStack, type Stack } from '../harness/stack'

let stack: Stack | undefined
after(async () => {
  await stack?.stop()
})

async function relayFromLoopback(s: Stack): Promise<number> {
  const c = await s.inbound()
  await c.mailFrom('someone@remote.example')
  const r = await c.rcptTo('victim@elsewhere.example')
  c.close()
  return r.code
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10000
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(200)
  }
  assert.fail(`not within 10 s: ${what}`)
}

describe('config validation at startup', () => {
  test('a bad value stops Haraka with the file, key and problem', async () => {
    await assert.rejects(
      startHaraka({
        ldapUrl: 'ldap://127.0.0.1:1',
        files: { 'auth_relay.ini': '[main]\ntrusted_networks=10.0.0.0/33\n' },
      }),
      (err: Error) =>
        /config\/auth_relay\.ini is invalid: \[main\] trusted_networks: "10\.0\.0\.0\/33" is not a CIDR range/.test(
          err.message,
        ),
    )
  })

  test('a misspelt boolean stops Haraka naming the key (haraka-config alone would read it as false)', async () => {
    await assert.rejects(
      startHaraka({
        ldapUrl: 'ldap://127.0.0.1:1',
        files: { 'ldap_auth.ini': '[main]\ncheck_ppolicy_lock=ture\n' },
      }),
      (err: Error) =>
        /config\/ldap_auth\.ini is invalid: \[main\] check_ppolicy_lock: "ture" is not true or false/.test(
          err.message,
        ),
    )
  })
})

describe('secrets are read as written', () => {
  test('a bind_password that looks like a number (007123) is sent exactly: the service bind works', async () => {
    stack = await startStack({
      ldif: [path.join(FIXTURE_DIR, 'numeric-service.ldif')],
      ini: {
        'ldap_directory.ini': {
          main: { bind_dn: 'cn=numeric,ou=services,dc=example,dc=com', bind_password: '007123' },
        },
      },
    })
    const c = await stack.submission()
    assert.equal((await c.authPlain(ALICE.login, ALICE.password)).code, 235)
    const log = stack.slapd.logTail(1_000_000)
    const conn = /conn=(\d+) op=0 BIND dn="cn=numeric,ou=services,dc=example,dc=com" method=128/.exec(
      log,
    )?.[1]
    assert.ok(conn, 'Haraka bound as the numeric service account')
    assert.match(log, new RegExp(`conn=${conn} op=0 RESULT tag=97 err=0 `), 'and slapd accepted the password')
  })
})

describe('hot reload', () => {
  test('an edit takes effect without a restart; a bad edit keeps the previous config', async () => {
    // The stack of the test above (its service account is the only difference).
    stack ??= await startStack()
    const s = stack
    const ini = path.join(s.haraka.dir, 'config', 'auth_relay.ini')
    assert.equal(await relayFromLoopback(s), 550)

    writeFileSync(ini, '[main]\ntrusted_networks=127.0.0.1/32\n')
    await eventually(async () => (await relayFromLoopback(s)) === 250, 'loopback trusted after the edit')
    assert.match(s.haraka.logs(), /trusted_networks: 127\.0\.0\.1\/32 trusts local processes/)

    writeFileSync(ini, '[main]\ntrusted_networks=not-a-network\n')
    await eventually(
      async () => /auth_relay\.ini is invalid, keeping the previous configuration/.test(s.haraka.logs()),
      'bad edit logged',
    )
    assert.equal(await relayFromLoopback(s), 250)

    writeFileSync(ini, '[main]\n')
    await eventually(async () => (await relayFromLoopback(s)) === 550, 'relay closed again')
  })
})
