// Sender ownership: addresses from entry attributes (aliases, proxyAddresses),
// sub-addressing and send-as groups.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Lookup } from '../../../lib/ldap/types'
import {
  claimedByAnotherEntry,
  ownedFromEntry,
  ownsAddress,
  type Owned,
  type OwnershipRule,
} from '../../../lib/authz/senders'

const DN = 'uid=alice,ou=people,dc=example,dc=com'

function found(owned: Owned): Extract<Owned, { kind: 'found' }> {
  assert.equal(owned.kind, 'found')
  return owned as Extract<Owned, { kind: 'found' }>
}

describe('ownedFromEntry', () => {
  test('ownedFromEntry: canonical set in attribute order; primary is SMTP:, else the first listed', () => {
    const attrs = {
      mail: ['Alice@Example.com'],
      mailalternateaddress: ['a.l@example.com'],
      proxyaddresses: ['smtp:old@example.com', 'SMTP:Primary@example.com', 'X500:x'],
    }
    const o = found(ownedFromEntry(DN, attrs, ['mail', 'mailAlternateAddress', 'proxyAddresses']))
    assert.deepEqual(
      [...o.addresses],
      ['alice@example.com', 'a.l@example.com', 'old@example.com', 'primary@example.com'],
    )
    assert.equal(o.primary, 'Primary@example.com')
    assert.equal(o.dn, DN)
    const plain = found(ownedFromEntry(DN, attrs, ['mailAlternateAddress', 'mail']))
    assert.equal(plain.primary, 'a.l@example.com')
    assert.deepEqual([...plain.addresses], ['a.l@example.com', 'alice@example.com'])
  })
  test('attributes not in the list are not addresses of the login', () => {
    const o = found(
      ownedFromEntry(DN, { mail: ['alice@example.com'], mailalternateaddress: ['x@example.com'] }, ['mail']),
    )
    assert.deepEqual([...o.addresses], ['alice@example.com'])
  })
})

describe('ownsAddress', () => {
  const owned = new Set(['alice@example.com', 'a.liddell@example.com'])
  const asked: string[] = []
  const claimsAsked: string[] = []
  const rule = (over: Partial<OwnershipRule> = {}): OwnershipRule => ({
    subaddressSeparator: '',
    claimedByAnotherEntry: async (address) => {
      claimsAsked.push(address)
      return false
    },
    sendAs: new Map([
      ['sales@example.com', 'cn=sales,ou=groups,dc=example,dc=com'],
      ['ops@example.com', 'cn=ops,ou=groups,dc=example,dc=com'],
    ]),
    isMember: async (group) => {
      asked.push(group)
      return group.startsWith('cn=sales')
    },
    ...over,
  })
  test('listed addresses, under the comparison rule', async () => {
    for (const a of [
      'alice@example.com',
      'ALICE@Example.COM',
      '"alice"@example.com',
      'A.Liddell@example.com',
    ]) {
      assert.deepEqual(await ownsAddress(owned, a, rule()), { owned: true, via: 'listed' }, a)
    }
  })
  test('tricks and other people are not owned', async () => {
    for (const a of [
      'bob@example.com',
      '"bob"@example.com',
      'alice%example.com@example.com',
      'alice@example.com.',
      '"alice@example.com"@evil.example',
      'alice+x@example.com',
      'alice',
    ]) {
      assert.deepEqual(await ownsAddress(owned, a, rule()), { owned: false }, a)
    }
  })
  test('sub-addresses only when the option is on', async () => {
    assert.deepEqual(await ownsAddress(owned, 'alice+news@example.com', rule({ subaddressSeparator: '+' })), {
      owned: true,
      via: 'subaddress',
    })
    assert.deepEqual(await ownsAddress(owned, 'bob+alice@example.com', rule({ subaddressSeparator: '+' })), {
      owned: false,
    })
  })
  test('send-as: a member of the mapped group may use the shared address (and its sub-addresses with the option)', async () => {
    asked.length = 0
    assert.deepEqual(await ownsAddress(owned, 'Sales@example.com', rule()), {
      owned: true,
      via: 'send_as',
      group: 'cn=sales,ou=groups,dc=example,dc=com',
    })
    assert.deepEqual(await ownsAddress(owned, 'ops@example.com', rule()), { owned: false })
    assert.deepEqual(await ownsAddress(owned, 'sales+q4@example.com', rule({ subaddressSeparator: '+' })), {
      owned: true,
      via: 'send_as',
      group: 'cn=sales,ou=groups,dc=example,dc=com',
    })
    assert.deepEqual(await ownsAddress(owned, 'other@example.com', rule()), { owned: false })
    assert.deepEqual(asked, [
      'cn=sales,ou=groups,dc=example,dc=com',
      'cn=ops,ou=groups,dc=example,dc=com',
      'cn=sales,ou=groups,dc=example,dc=com',
    ])
  })
})

describe('a sub-address that is another entry\u2019s address is not owned', () => {
  // john@ logs in; john.smith@ and sales.team@ are addresses of other directory entries.
  const owned = new Set(['john@example.com'])
  const others = new Set(['john.smith@example.com', 'sales.team@example.com'])
  const asked: string[] = []
  const rule = (over: Partial<OwnershipRule> = {}): OwnershipRule => ({
    subaddressSeparator: '.',
    sendAs: new Map([['sales@example.com', 'cn=sales,ou=groups,dc=example,dc=com']]),
    isMember: async () => true,
    claimedByAnotherEntry: async (address) => {
      asked.push(address)
      return others.has(address)
    },
    ...over,
  })
  test('john.smith@ is not john\u2019s sub-address; john.lists@ is', async () => {
    asked.length = 0
    assert.deepEqual(await ownsAddress(owned, 'John.Smith@example.com', rule()), {
      owned: false,
      reason: 'another_entry',
    })
    assert.deepEqual(await ownsAddress(owned, 'john.lists@example.com', rule()), {
      owned: true,
      via: 'subaddress',
    })
    assert.deepEqual(asked, ['john.smith@example.com', 'john.lists@example.com'])
  })
  test('[send_as]: sales.team@ is not a sub-address of sales@; sales.q4@ is; sales@ itself is not looked up', async () => {
    asked.length = 0
    assert.deepEqual(await ownsAddress(owned, 'sales.team@example.com', rule()), {
      owned: false,
      reason: 'another_entry',
    })
    assert.deepEqual(await ownsAddress(owned, 'sales.q4@example.com', rule()), {
      owned: true,
      via: 'send_as',
      group: 'cn=sales,ou=groups,dc=example,dc=com',
    })
    assert.deepEqual(await ownsAddress(owned, 'sales@example.com', rule()), {
      owned: true,
      via: 'send_as',
      group: 'cn=sales,ou=groups,dc=example,dc=com',
    })
    assert.deepEqual(await ownsAddress(owned, 'john@example.com', rule()), { owned: true, via: 'listed' })
    assert.deepEqual(asked, ['sales.team@example.com', 'sales.q4@example.com'])
  })
  test('nothing is looked up for an address that would not be owned anyway', async () => {
    asked.length = 0
    assert.deepEqual(await ownsAddress(owned, 'bob.x@example.com', rule()), { owned: false })
    assert.deepEqual(await ownsAddress(owned, 'sales.x@example.com', rule({ isMember: async () => false })), {
      owned: false,
    })
    assert.deepEqual(asked, [])
  })
  test('a directory failure of the lookup is not a yes or a no: it rejects (451 upstream)', async () => {
    const down = rule({ claimedByAnotherEntry: async () => Promise.reject(new Error('down')) })
    await assert.rejects(ownsAddress(owned, 'john.lists@example.com', down), /down/)
  })
})

describe('claimedByAnotherEntry', () => {
  const DN_JOHN = 'uid=john,ou=people,dc=example,dc=com'
  const entry = (dn: string): Lookup => ({ kind: 'found', entry: { dn, attributes: {} } })
  const lookups = (...answers: Lookup[]) => answers.map((a) => async () => a)
  test('another entry, or several, in any lookup: claimed', async () => {
    assert.equal(
      await claimedByAnotherEntry(DN_JOHN, lookups(entry('uid=john.smith,ou=people,dc=example,dc=com'))),
      true,
    )
    assert.equal(await claimedByAnotherEntry(DN_JOHN, lookups({ kind: 'none' }, { kind: 'ambiguous' })), true)
    assert.equal(
      await claimedByAnotherEntry(
        DN_JOHN,
        lookups({ kind: 'none' }, entry('cn=list,ou=lists,dc=example,dc=com')),
      ),
      true,
    )
  })
  test('no entry, or the login\u2019s own entry (DNs compared as DNs): not claimed', async () => {
    assert.equal(await claimedByAnotherEntry(DN_JOHN, lookups({ kind: 'none' }, { kind: 'none' })), false)
    assert.equal(
      await claimedByAnotherEntry(
        DN_JOHN,
        lookups(entry('UID=John, ou=People,dc=example,dc=com'), { kind: 'none' }),
      ),
      false,
    )
    assert.equal(await claimedByAnotherEntry(DN_JOHN, []), false)
  })
  test('a failing lookup rejects', async () => {
    await assert.rejects(
      claimedByAnotherEntry(DN_JOHN, [async () => Promise.reject(new Error('down'))]),
      /down/,
    )
  })
})
