// lib/ldap/directory when a server misbehaves in ways slapd cannot be made to
// on demand: fake servers (node:net, ldapjs) on 127.0.0.1, and slapd beside them.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseDirectoryConfig } from '../lib/ldap/config'
import { createDirectory, DirectoryUnavailableError, type AuthDirectory } from '../lib/ldap/directory'
import type { ServerEvent } from '../lib/ldap/servers'
import { loginParts } from '../lib/ldap/template'
import { startTlsStallServer, type FakeServer } from './harness/fake_ldap'

const dirs: AuthDirectory[] = []
const fakes: FakeServer[] = []
after(async () => {
  for (const d of dirs) await d.close()
  for (const f of fakes) await f.close()
})

function open(main: Record<string, unknown>, events: ServerEvent[] = []): AuthDirectory {
  const r = parseDirectoryConfig({ main: { bind_dn: 'cn=svc,dc=example,dc=com', bind_password: 'x', base_dn: 'dc=example,dc=com', ...main } })
  if (!r.ok) throw new Error(r.errors.join('; '))
  const d = createDirectory(r.cfg, { onServerEvent: (e) => events.push(e) })
  dirs.push(d)
  return d
}

/** The settled outcome of `p`, or 'pending' after `ms` (a hang must fail the test, not stall it). */
async function within<T>(p: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown; ms: number } | 'pending'> {
  const t = Date.now()
  const settled = p.then(
    (value) => ({ value, ms: Date.now() - t }),
    (error: unknown) => ({ error, ms: Date.now() - t }),
  )
  return Promise.race([settled, sleep(ms).then(() => 'pending' as const)])
}

describe('StartTLS that never completes', () => {
  test('fails within connect_timeout, frees the pool slot, marks the server down, and the health check keeps probing', async () => {
    const fake = await startTlsStallServer()
    fakes.push(fake)
    const events: ServerEvent[] = []
    const d = open({ servers: fake.url, starttls: true, connect_timeout: 500, timeout: 1000, pool_size: 1, health_check_interval: 500 }, events)
    for (const attempt of [1, 2]) {
      const r = await within(d.findUser(loginParts('alice'), ['1.1']), 6000)
      assert.notEqual(r, 'pending', `findUser #${attempt} still waiting after 6 s`)
      if (r === 'pending') return
      assert.ok(r.error instanceof DirectoryUnavailableError, `#${attempt}: ${String(r.error)}`)
      // The one pool slot was given back: the second attempt opened a connection of its own, not a pool timeout.
      assert.doesNotMatch((r.error as Error).message, /no free connection/)
      assert.ok(r.ms < 4000, `#${attempt} took ${r.ms} ms`)
    }
    assert.deepEqual(d.serverStatus(), [{ url: fake.url, up: false }])
    assert.match(events[0]?.reason ?? '', /StartTLS not completed within 500 ms/)
    // Each probe is a new connection; a probe stuck in the handshake would stop them.
    const seen = fake.connections
    await sleep(3000)
    assert.ok(fake.connections >= seen + 2, `probes kept coming: ${seen} -> ${fake.connections} connections`)
    assert.ok(!events.some((e) => e.up), 'never marked up')
  })
})
