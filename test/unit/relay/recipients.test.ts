// lib/relay/recipients: what recipient verification searches for. Only an
// unnecessary quoting is removed ("bob"@ is bob@); a quoted local part that is
// not a dot-atom ("a b"@, "a@b"@) is searched exactly as written.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { recipientExists } from '../../../lib/relay/recipients'
import { fakeDirectory, fakeDirectoryConfig, type FakeEntry } from '../../harness/fake_directory'

// A filter comparing all three parts, so the search shows each: %u the address, %l and %d its parts.
const cfg = fakeDirectoryConfig({ user_filter: '(&(mail=%u)(uid=%l)(dc=%d))' })
const person = (local: string): FakeEntry => ({
  dn: `uid=${local},dc=example,dc=com`,
  attributes: { mail: [`${local}@example.com`], uid: [local], dc: ['example.com'] },
})

/** The shared fake, with bob's addresses when `found`; `searched` is each filter it was asked. */
function recorder(found: boolean) {
  const { dir, state } = fakeDirectory(cfg, found ? [person('bob'), person('b.o.b')] : [])
  return { dir, searched: state.requests }
}

describe('recipientExists', () => {
  test('unnecessary quotes are removed: "bob"@ is searched as bob@', async () => {
    const { dir, searched } = recorder(true)
    assert.equal(await recipientExists(dir, '"bob"', 'example.com'), true)
    assert.equal(await recipientExists(dir, '"b.o.b"', 'example.com'), true)
    assert.equal(await recipientExists(dir, 'bob', 'example.com'), true)
    assert.deepEqual(searched, [
      'search (&(mail=bob@example.com)(uid=bob)(dc=example.com))',
      'search (&(mail=b.o.b@example.com)(uid=b.o.b)(dc=example.com))',
      'search (&(mail=bob@example.com)(uid=bob)(dc=example.com))',
    ])
  })

  test('necessary quoting stays: "a b"@ and "a@b"@ are not searched as a b@ or a@b@', async () => {
    const { dir, searched } = recorder(false)
    assert.equal(await recipientExists(dir, '"a b"', 'example.com'), false)
    assert.equal(await recipientExists(dir, '"a@b"', 'example.com'), false)
    assert.equal(await recipientExists(dir, '"a..b"', 'example.com'), false)
    assert.deepEqual(searched, [
      'search (&(mail="a b"@example.com)(uid="a b")(dc=example.com))',
      'search (&(mail="a@b"@example.com)(uid="a@b")(dc=example.com))',
      'search (&(mail="a..b"@example.com)(uid="a..b")(dc=example.com))',
    ])
  })
})
