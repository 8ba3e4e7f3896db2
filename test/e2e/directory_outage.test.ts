// The directory stopped, killed or hung under a running Haraka: valid users get
// 454 4.7.0 within the configured timeouts (never 235, never 535), and AUTH works
// again when slapd is back, without restarting Haraka. Then failover between
// two slapd instances, and fail-back, read from the slapd logs.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startSlapd, type Slapd } from '../harness/slapd'
import { ALICE, BOB, DEMO_LDIF, startStack, type Stack } from '../harness/stack'

const TIMEOUT = 1000
const CONNECT_TIMEOUT = 500
/** what a 454 may take: one operation timeout, a connect timeout, and room for a slow shared machine */
const BUDGET = TIMEOUT + CONNECT_TIMEOUT + 2000

let stack: Stack
let second: Slapd | undefined

function directoryIni(servers: string): string {
  return [
    '[main]',
    `servers=${servers}`,
    'bind_dn=cn=haraka,ou=services,dc=example,dc=com',
    'bind_password=haraka-service-secret',
    'base_dn=ou=people,dc=example,dc=com',
    `timeout=${TIMEOUT}`,
    `connect_timeout=${CONNECT_TIMEOUT}`,
    'health_check_interval=500',
    '',
  ].join('\n')
}

before(async () => {
  stack = await startStack({ files: { 'ldap_auth.ini': '[main]\nfailure_delay=0\nmax_failures=10\n' } })
  // The harness points servers at its slapd; keep that and set short timeouts.
  await reconfigure(stack.slapd.url)
  await eventually(async () => (await login(ALICE)).code === 235, 'AUTH works with the new config')
})
after(async () => {
  await stack?.stop()
  await second?.dispose()
})

/** Rewrite ldap_directory.ini and wait until both plugins have loaded it (each logs its directory line). */
async function reconfigure(servers: string): Promise<void> {
  const loads = () => (stack.haraka.logs().match(/\] directory: servers=/g) ?? []).length
  const before = loads()
  writeFileSync(path.join(stack.haraka.dir, 'config', 'ldap_directory.ini'), directoryIni(servers))
  await eventually(() => loads() >= before + 2, 'ldap_directory.ini reloaded by ldap_auth and auth_relay')
}

async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(200)
  }
  assert.fail(`not within ${ms} ms: ${what}`)
}

async function login(user: {
  login: string
  password: string
}): Promise<{ code: number; enhanced?: string; ms: number }> {
  const c = await stack.submission()
  const t = Date.now()
  const r = await c.authPlain(user.login, user.password)
  const ms = Date.now() - t
  c.close()
  return { code: r.code, ...(r.enhanced ? { enhanced: r.enhanced } : {}), ms }
}

async function expectOutage(what: string): Promise<void> {
  for (const user of [ALICE, BOB, ALICE]) {
    const r = await login(user)
    assert.equal(r.code, 454, `${what}: ${user.login} got ${r.code}`)
    assert.equal(r.enhanced, '4.7.0')
    assert.ok(r.ms < BUDGET, `${what}: 454 took ${r.ms} ms (budget ${BUDGET} ms)`)
  }
}

describe('directory outage', () => {
  test('slapd stopped: 454 4.7.0 fast; back: 235 without restarting Haraka', async () => {
    await stack.slapd.stop()
    try {
      await expectOutage('stopped')
    } finally {
      await stack.slapd.start()
    }
    await eventually(async () => (await login(ALICE)).code === 235, 'recovery after restart')
  })

  test('slapd killed with SIGKILL: 454 4.7.0; back: 235', async () => {
    assert.equal((await login(BOB)).code, 235, 'pooled connections exist')
    stack.slapd.signal('SIGKILL')
    await eventually(() => stack.slapd.pid === 0, 'slapd gone')
    try {
      await expectOutage('killed')
    } finally {
      await stack.slapd.start()
    }
    await eventually(async () => (await login(BOB)).code === 235, 'recovery after SIGKILL')
  })

  test('slapd hung with SIGSTOP: 454 4.7.0 within the operation timeout; SIGCONT: 235', async () => {
    assert.equal((await login(ALICE)).code, 235)
    stack.slapd.signal('SIGSTOP')
    try {
      await expectOutage('hung')
    } finally {
      stack.slapd.signal('SIGCONT')
    }
    await eventually(async () => (await login(ALICE)).code === 235, 'recovery after SIGCONT')
    assert.match(stack.haraka.logs(), /directory server ldap:\/\/127\.0\.0\.1:\d+ marked down: /)
    assert.doesNotMatch(
      stack.haraka.logs(),
      /AUTH PLAIN failed for "alice@example.com": authn\(invalid_credentials\)/,
    )
  })
})

describe('two directory servers', () => {
  const aliceBinds = (s: Slapd) =>
    (s.logTail(1_000_000).match(/BIND dn="uid=alice,ou=people,dc=example,dc=com" method=128/g) ?? []).length

  test('the first is used; when it stops the second takes over; when it returns traffic fails back', async () => {
    second = await startSlapd({ ldif: [DEMO_LDIF] })
    const first = stack.slapd
    await reconfigure(`${first.url},${second.url}`)

    const before2 = aliceBinds(second)
    for (let i = 0; i < 3; i++) assert.equal((await login(ALICE)).code, 235)
    assert.equal(aliceBinds(second), before2, 'the second server is not used while the first is up')

    await first.stop()
    const mark = stack.haraka.logs().length
    try {
      for (let i = 0; i < 3; i++)
        assert.equal((await login(ALICE)).code, 235, 'AUTH works through the second server')
      assert.ok(aliceBinds(second) >= before2 + 3, 'the binds went to the second server')
    } finally {
      await first.start()
    }
    const back = new RegExp(
      `\\[ldap_auth\\] directory server ${first.url.replace(/[.]/g, '\\.')} is up again: health check answered`,
    )
    await eventually(
      () => back.test(stack.haraka.logs().slice(mark)),
      'health check saw the first server back',
    )
    const on1 = aliceBinds(first)
    const on2 = aliceBinds(second)
    for (let i = 0; i < 3; i++) assert.equal((await login(ALICE)).code, 235)
    assert.ok(aliceBinds(first) >= on1 + 3, 'binds went back to the first server')
    assert.equal(aliceBinds(second), on2, 'and none to the second')
  })
})
