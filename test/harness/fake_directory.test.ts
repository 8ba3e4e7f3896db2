// The shared fake directory answers and fails as the real client does, since
// the unit and hook tests rely on it in place of lib/ldap/directory.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { DirectoryBusyError, DirectoryUnavailableError } from '../../lib/ldap/errors'
import { PoolClosedError } from '../../lib/ldap/pool'
import { loginParts } from '../../lib/ldap/template'
import { fakeDirectory, fakeDirectoryConfig, type FakeEntry } from './fake_directory'

const ALICE = 'uid=alice,ou=people,dc=example,dc=com'
const ENTRIES: FakeEntry[] = [
  {
    dn: ALICE,
    password: 'pw',
    attributes: { objectClass: ['inetOrgPerson'], uid: ['alice'], mail: ['Alice@Example.com'], cn: ['A'] },
  },
  { dn: 'uid=al,ou=people,dc=example,dc=com', attributes: { objectClass: ['inetOrgPerson'], uid: ['al'] } },
  { dn: 'uid=al2,ou=people,dc=example,dc=com', attributes: { objectClass: ['inetOrgPerson'], uid: ['al'] } },
  {
    dn: 'cn=staff,dc=example,dc=com',
    attributes: { uniqueMember: ['UID=Alice,OU=People,DC=Example,DC=Com'] },
  },
]

describe('the shared fake directory', () => {
  test('user_filter decides, case-insensitively; two matches are ambiguous; only the attributes asked for', async () => {
    const { dir, state } = fakeDirectory(fakeDirectoryConfig(), ENTRIES)
    assert.deepEqual(await dir.findUser(loginParts('alice@example.com'), ['mail', 'UID']), {
      kind: 'found',
      entry: { dn: ALICE, attributes: { mail: ['Alice@Example.com'], uid: ['alice'] } },
    })
    assert.deepEqual(await dir.findUser(loginParts('alice'), ['1.1']), {
      kind: 'found',
      entry: { dn: ALICE, attributes: {} },
    })
    assert.deepEqual(await dir.findUser(loginParts('al'), ['1.1']), { kind: 'ambiguous' })
    assert.deepEqual(await dir.findUser(loginParts('nobody'), ['1.1']), { kind: 'none' })
    assert.equal(state.searches, 4)
    assert.equal(
      state.requests[0],
      'search (&(objectClass=inetOrgPerson)(|(uid=alice@example.com)(mail=alice@example.com)))',
    )
  })

  test('group checks read the group entry; binds check the password; an empty one is never sent', async () => {
    const { dir, state } = fakeDirectory(fakeDirectoryConfig(), ENTRIES)
    assert.equal(await dir.isMember('cn=staff,dc=example,dc=com', ALICE), true)
    assert.equal(await dir.isMember('cn=staff,dc=example,dc=com', ALICE, ['member']), false)
    assert.equal(await dir.isMember('cn=nothing,dc=example,dc=com', ALICE), false)
    assert.equal(await dir.checkPassword(ALICE, 'pw'), true)
    assert.equal(await dir.checkPassword(ALICE, 'wrong'), false)
    assert.deepEqual(await dir.bindAndRead(ALICE, 'pw', ['cn']), {
      ok: true,
      entry: { dn: ALICE, attributes: { cn: ['A'] } },
    })
    assert.equal(state.binds, 3)
    assert.deepEqual(await dir.bindAndRead(ALICE, '', []), { ok: false })
    assert.equal(state.binds, 3, 'the empty password made no bind')
  })

  test('down, busy, closed: the errors of the real client; a held request is counted, then waits', async () => {
    const { dir, state } = fakeDirectory(fakeDirectoryConfig(), ENTRIES)
    state.down = true
    await assert.rejects(dir.findUser(loginParts('alice'), []), (err) => {
      assert.ok(err instanceof DirectoryUnavailableError && !(err instanceof DirectoryBusyError))
      return true
    })
    state.down = false
    state.busy = true
    await assert.rejects(dir.isMember('cn=staff,dc=example,dc=com', ALICE), DirectoryBusyError)
    state.busy = false
    let release!: () => void
    state.hold = new Promise((resolve) => (release = resolve))
    let answered = false
    const pending = dir.checkPassword(ALICE, 'pw').then((ok) => (answered = ok))
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual([state.binds, answered], [1, false])
    release()
    await pending
    assert.equal(answered, true)
    state.hold = undefined
    await dir.close()
    await assert.rejects(dir.readEntry(ALICE, []), PoolClosedError)
  })
})
