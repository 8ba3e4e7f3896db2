// lib/relay/recipients: what recipient verification searches for. Only an
// unnecessary quoting is removed ("bob"@ is bob@); a quoted local part that is
// not a dot-atom ("a b"@, "a@b"@) is searched exactly as written.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Directory } from '../../../lib/ldap/types'
import { recipientExists } from '../../../lib/relay/recipients'

function recorder(found: boolean): { dir: Directory; searched: string[] } {
  const searched: string[] = []
  const dir = {
    async findUser(parts: { u: string; l: string; d: string }) {
      searched.push(`${parts.u} | ${parts.l} | ${parts.d}`)
      return found ? { kind: 'found', entry: { dn: 'uid=x', attributes: {} } } : { kind: 'none' }
    },
  } as unknown as Directory
  return { dir, searched }
}

describe('recipientExists', () => {
  test('unnecessary quotes are removed: "bob"@ is searched as bob@', async () => {
    const { dir, searched } = recorder(true)
    assert.equal(await recipientExists(dir, '"bob"', 'example.com'), true)
    assert.equal(await recipientExists(dir, '"b.o.b"', 'example.com'), true)
    assert.equal(await recipientExists(dir, 'bob', 'example.com'), true)
    assert.deepEqual(searched, [
      'bob@example.com | bob | example.com',
      'b.o.b@example.com | b.o.b | example.com',
      'bob@example.com | bob | example.com',
    ])
  })

  test('necessary quoting stays: "a b"@ and "a@b"@ are not searched as a b@ or a@b@', async () => {
    const { dir, searched } = recorder(false)
    assert.equal(await recipientExists(dir, '"a b"', 'example.com'), false)
    assert.equal(await recipientExists(dir, '"a@b"', 'example.com'), false)
    assert.equal(await recipientExists(dir, '"a..b"', 'example.com'), false)
    assert.deepEqual(searched, [
      '"a b"@example.com | "a b" | example.com',
      '"a@b"@example.com | "a@b" | example.com',
      '"a..b"@example.com | "a..b" | example.com',
    ])
  })
})
