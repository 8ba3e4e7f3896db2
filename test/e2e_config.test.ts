// Configuration in a running Haraka: a bad value stops startup with a clear
// message; an edit is picked up without a restart; a bad edit keeps the old config.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startHaraka } from './harness/haraka'
import { startStack, type Stack } from './harness/stack'

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
      startHaraka({ ldapUrl: 'ldap://127.0.0.1:1', files: { 'auth_relay.ini': '[main]\ntrusted_networks=10.0.0.0/33\n' } }),
      (err: Error) => /config\/auth_relay\.ini is invalid: \[main\] trusted_networks: "10\.0\.0\.0\/33" is not a CIDR range/.test(err.message),
    )
  })
})

describe('hot reload', () => {
  test('an edit takes effect without a restart; a bad edit keeps the previous config', async () => {
    stack = await startStack()
    const s = stack
    const ini = path.join(s.haraka.dir, 'config', 'auth_relay.ini')
    assert.equal(await relayFromLoopback(s), 550)

    writeFileSync(ini, '[main]\ntrusted_networks=127.0.0.1/32\n')
    await eventually(async () => (await relayFromLoopback(s)) === 250, 'loopback trusted after the edit')
    assert.match(s.haraka.logs(), /trusted_networks: 127\.0\.0\.1\/32 trusts local processes/)

    writeFileSync(ini, '[main]\ntrusted_networks=not-a-network\n')
    await eventually(async () => /auth_relay\.ini is invalid, keeping the previous configuration/.test(s.haraka.logs()), 'bad edit logged')
    assert.equal(await relayFromLoopback(s), 250)

    writeFileSync(ini, '[main]\n')
    await eventually(async () => (await relayFromLoopback(s)) === 550, 'relay closed again')
  })
})
