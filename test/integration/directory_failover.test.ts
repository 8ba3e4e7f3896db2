// Failover between two real slapd servers at the lib/ldap level, with warm
// pools: a hung (SIGSTOPped) first server is left after one timeout, and
// traffic fails back once it answers again.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { authenticate } from '../../lib/authn/password'
import { parseDirectoryConfig } from '../../lib/ldap/config'
import { createDirectory, type LdapDirectory } from '../../lib/ldap/directory'
import type { ServerEvent } from '../../lib/ldap/servers'
import { startSlapd, type Slapd } from '../harness/slapd'
import { ALICE, DEMO_LDIF } from '../harness/stack'

const TIMEOUT = 1000
let s1: Slapd
let s2: Slapd
const dirs: LdapDirectory[] = []

before(async () => {
  ;[s1, s2] = await Promise.all([startSlapd({ ldif: [DEMO_LDIF] }), startSlapd({ ldif: [DEMO_LDIF] })])
})
after(async () => {
  s1?.signal('SIGCONT')
  for (const d of dirs) await d.close()
  await Promise.all([s1?.dispose(), s2?.dispose()])
})

function open(events: ServerEvent[]): LdapDirectory {
  const r = parseDirectoryConfig({
    main: {
      servers: `${s1.url},${s2.url}`,
      bind_dn: 'cn=haraka,ou=services,dc=example,dc=com',
      bind_password: 'haraka-service-secret',
      base_dn: 'ou=people,dc=example,dc=com',
      timeout: TIMEOUT,
      connect_timeout: 500,
      health_check_interval: 500,
    },
  })
  if (!r.ok) throw new Error(r.errors.join('; '))
  const d = createDirectory(r.cfg, { onServerEvent: (e) => events.push(e) })
  dirs.push(d)
  return d
}

const aliceBinds = (s: Slapd) =>
  (s.logTail(1_000_000).match(/BIND dn="uid=alice,ou=people,dc=example,dc=com" method=128/g) ?? []).length

async function timedLogin(d: LdapDirectory): Promise<{ outcome: string; reason: string; ms: number }> {
  const t = Date.now()
  const r = await authenticate(d, 'search', ALICE.login, ALICE.password)
  return { outcome: r.outcome, reason: r.reason, ms: Date.now() - t }
}

describe('a hung first server with warm pools', () => {
  test('the first AUTH after SIGSTOP succeeds on the second server within about one timeout, the next ones at once; fail-back after SIGCONT', async () => {
    const events: ServerEvent[] = []
    const d = open(events)
    // Concurrent logins fill both pools with connections to the first server.
    const warm = await Promise.all(
      Array.from({ length: 4 }, () => authenticate(d, 'search', ALICE.login, ALICE.password)),
    )
    assert.deepEqual(
      warm.map((r) => r.outcome),
      ['OK', 'OK', 'OK', 'OK'],
    )
    const on2 = aliceBinds(s2)
    assert.equal(on2, 0, 'the second server is not used while the first is up')

    s1.signal('SIGSTOP')
    try {
      const first = await timedLogin(d)
      assert.equal(first.outcome, 'OK', `first AUTH after the stop: ${first.outcome} (${first.reason})`)
      // One operation timeout on the hung server, then the second server (room for a slow machine).
      assert.ok(first.ms < TIMEOUT + 2500, `first AUTH took ${first.ms} ms`)
      for (let i = 2; i <= 4; i++) {
        const r = await timedLogin(d)
        assert.equal(r.outcome, 'OK', `AUTH ${i}: ${r.outcome} (${r.reason})`)
        assert.ok(r.ms < TIMEOUT, `AUTH ${i} took ${r.ms} ms: it waited for the hung server`)
      }
      assert.deepEqual(
        d.serverStatus().map((s) => s.up),
        [false, true],
      )
      assert.ok(aliceBinds(s2) >= 4, 'the binds went to the second server')
    } finally {
      s1.signal('SIGCONT')
    }

    const deadline = Date.now() + 10_000
    while (!events.some((e) => e.up && e.url === s1.url) && Date.now() < deadline) await sleep(100)
    assert.ok(
      events.some((e) => e.up && e.url === s1.url),
      'the health check saw the first server back',
    )
    const back1 = aliceBinds(s1)
    const back2 = aliceBinds(s2)
    for (let i = 0; i < 3; i++) assert.equal((await timedLogin(d)).outcome, 'OK')
    assert.ok(aliceBinds(s1) >= back1 + 3, 'binds went back to the first server')
    assert.equal(aliceBinds(s2), back2, 'and none to the second')
  })
})
