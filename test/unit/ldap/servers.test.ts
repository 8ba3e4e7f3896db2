import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ServerSet, type ServerEvent } from '../../../lib/ldap/servers'

function set(alive: Set<string>) {
  const events: ServerEvent[] = []
  const s = new ServerSet(['ldap://a', 'ldap://b', 'ldap://c'], {
    healthIntervalMs: 60_000,
    probe: async (url) => {
      if (!alive.has(url)) throw new Error('refused')
    },
    onChange: (e) => events.push(e),
  })
  return { s, events }
}

describe('server set', () => {
  test('in order; a down server goes last, and is still tried as a last resort', () => {
    const { s, events } = set(new Set())
    assert.deepEqual(s.candidates(), ['ldap://a', 'ldap://b', 'ldap://c'])
    s.markDown('ldap://a', 'refused')
    s.markDown('ldap://a', 'again')
    assert.deepEqual(s.candidates(), ['ldap://b', 'ldap://c', 'ldap://a'])
    assert.equal(events.length, 1, 'one event per change')
    s.close()
  })

  test('the health check marks a server up again, and later servers are then outranked', async () => {
    const alive = new Set<string>()
    const { s, events } = set(alive)
    s.markDown('ldap://a', 'refused')
    assert.equal(s.outranked('ldap://b'), false)
    await s.checkNow()
    assert.equal(s.isUp('ldap://a'), false)
    alive.add('ldap://a')
    await s.checkNow()
    assert.equal(s.isUp('ldap://a'), true)
    assert.equal(s.outranked('ldap://b'), true)
    assert.equal(s.outranked('ldap://a'), false)
    assert.deepEqual(
      events.map((e) => [e.url, e.up]),
      [
        ['ldap://a', false],
        ['ldap://a', true],
      ],
    )
    s.close()
  })

  test('hasAlternative only counts other servers that are up', () => {
    const { s } = set(new Set())
    s.markDown('ldap://b', 'x')
    s.markDown('ldap://c', 'x')
    assert.equal(s.hasAlternative('ldap://a'), false)
    assert.equal(s.hasAlternative('ldap://b'), true)
    s.close()
  })

  test('a probe that never answers fails after probeTimeoutMs, and the next check probes again', async () => {
    let probes = 0
    const s = new ServerSet(['ldap://a', 'ldap://b'], {
      healthIntervalMs: 60_000,
      probeTimeoutMs: 50,
      probe: () => (probes++, new Promise<void>(() => undefined)),
    })
    s.markDown('ldap://a', 'hung')
    await s.checkNow()
    await s.checkNow()
    assert.equal(probes, 2, 'not stuck in "probing"')
    assert.equal(s.isUp('ldap://a'), false)
    s.close()
  })
})
