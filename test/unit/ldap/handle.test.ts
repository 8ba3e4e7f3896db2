// lib/ldap/handle: swapping the directory on reload without breaking an AUTH in flight.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseDirectoryConfig, type DirectoryConfig } from '../../../lib/ldap/config'
import { DirectoryHandle } from '../../../lib/ldap/handle'
import { fakeDirectory, type FakeEntry } from '../../harness/fake_directory'

// alice (password pw) in the group cn=g; the shared fake's calls fail once it is closed, as the real pools do.
const ENTRIES: FakeEntry[] = [
  { dn: 'uid=alice,dc=x', password: 'pw', attributes: { objectClass: ['inetOrgPerson'], uid: ['alice'] } },
  { dn: 'cn=g,dc=x', attributes: { member: ['uid=alice,dc=x'] } },
]

function cfg(timeout: number): DirectoryConfig {
  const r = parseDirectoryConfig({ main: { bind_dn: 'cn=x', bind_password: 'x', base_dn: 'dc=x', timeout } })
  assert.ok(r.ok)
  return r.cfg
}

function handle() {
  const made: ReturnType<typeof fakeDirectory>[] = []
  const h = new DirectoryHandle((c) => {
    const f = fakeDirectory(c, ENTRIES)
    made.push(f)
    return f.dir
  })
  return { h, made }
}

describe('DirectoryHandle', () => {
  test('a reload during use() keeps the old directory open until that use is done', async () => {
    const { h, made } = handle()
    h.update(cfg(1000))
    const steps = await h.use(async (dir) => {
      const found = await dir.findUser({ u: 'alice', l: 'alice', d: '' }, [])
      h.update(cfg(2000)) // ldap_directory.ini edited between the search and the bind
      assert.equal(made[0]!.state.closed, false, 'not closed under a running AUTH')
      const ok = await dir.checkPassword('uid=alice,dc=x', 'pw')
      const member = await dir.isMember('cn=g,dc=x', 'uid=alice,dc=x')
      return [found.kind, ok, member]
    })
    assert.deepEqual(steps, ['found', true, true])
    assert.equal(made[0]!.state.closed, true, 'closed once its last user finished')
    assert.equal(await h.use(async (d) => d), made[1]!.dir, 'new work goes to the new directory')
    assert.equal(made[1]!.state.closed, false)
  })

  test('an unused old directory closes at once; an unchanged config keeps the directory; a failing use still releases it', async () => {
    const { h, made } = handle()
    h.update(cfg(1000))
    h.update(cfg(1000))
    assert.equal(made.length, 1)
    await assert.rejects(
      h.use(async () => {
        h.update(cfg(3000))
        throw new Error('bug')
      }),
      /bug/,
    )
    assert.equal(made[0]!.state.closed, true)
    h.update(cfg(4000))
    await new Promise((r) => setImmediate(r))
    assert.equal(made[1]!.state.closed, true, 'no user: closed on the reload')
    await h.close()
    assert.equal(made[2]!.state.closed, true)
    await assert.rejects(
      h.use(async () => 1),
      /not configured/,
    )
  })
})
