// Sender ownership: addresses from entry attributes (aliases, proxyAddresses),
// sub-addressing, send-as groups, and the per-session cache.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { addressesOfValue } from '../lib/ldap/addresses'
import { ownedFromEntry, ownsAddress, type Owned, type OwnershipRule } from '../lib/relay/senders'
import { cachedMembership, cachedOwned, senderCache } from '../lib/relay/session'

const DN = 'uid=alice,ou=people,dc=example,dc=com'

function found(owned: Owned): Extract<Owned, { kind: 'found' }> {
  assert.equal(owned.kind, 'found')
  return owned as Extract<Owned, { kind: 'found' }>
}

describe('addresses from attribute values', () => {
  test('proxyAddresses: smtp:/SMTP: values without the prefix, other types ignored', () => {
    assert.deepEqual(addressesOfValue('proxyAddresses', 'SMTP:Alice@Example.com'), { address: 'Alice@Example.com', primary: true })
    assert.deepEqual(addressesOfValue('proxyaddresses', 'smtp:al@example.com'), { address: 'al@example.com', primary: false })
    assert.equal(addressesOfValue('proxyAddresses', 'X500:/o=Example/cn=alice'), null)
    assert.equal(addressesOfValue('proxyAddresses', 'sip:alice@example.com'), null)
    assert.equal(addressesOfValue('proxyAddresses', 'alice@example.com'), null)
  })
  test('other attributes hold plain addresses, prefix or not', () => {
    assert.deepEqual(addressesOfValue('mail', ' alice@example.com '), { address: 'alice@example.com', primary: false })
    assert.deepEqual(addressesOfValue('mail', 'smtp:x@example.com'), { address: 'smtp:x@example.com', primary: false })
  })
  test('ownedFromEntry: canonical set in attribute order; primary is SMTP:, else the first listed', () => {
    const attrs = { mail: ['Alice@Example.com'], mailalternateaddress: ['a.l@example.com'], proxyaddresses: ['smtp:old@example.com', 'SMTP:Primary@example.com', 'X500:x'] }
    const o = found(ownedFromEntry(DN, attrs, ['mail', 'mailAlternateAddress', 'proxyAddresses']))
    assert.deepEqual([...o.addresses], ['alice@example.com', 'a.l@example.com', 'old@example.com', 'primary@example.com'])
    assert.equal(o.primary, 'Primary@example.com')
    assert.equal(o.dn, DN)
    const plain = found(ownedFromEntry(DN, attrs, ['mailAlternateAddress', 'mail']))
    assert.equal(plain.primary, 'a.l@example.com')
    assert.deepEqual([...plain.addresses], ['a.l@example.com', 'alice@example.com'])
  })
  test('attributes not in the list are not addresses of the login', () => {
    const o = found(ownedFromEntry(DN, { mail: ['alice@example.com'], mailalternateaddress: ['x@example.com'] }, ['mail']))
    assert.deepEqual([...o.addresses], ['alice@example.com'])
  })
})

describe('ownsAddress', () => {
  const owned = new Set(['alice@example.com', 'a.liddell@example.com'])
  const asked: string[] = []
  const rule = (over: Partial<OwnershipRule> = {}): OwnershipRule => ({
    subaddressSeparator: '',
    sendAs: new Map([['sales@example.com', 'cn=sales,ou=groups,dc=example,dc=com'], ['ops@example.com', 'cn=ops,ou=groups,dc=example,dc=com']]),
    isMember: async (group) => {
      asked.push(group)
      return group.startsWith('cn=sales')
    },
    ...over,
  })
  test('listed addresses, under the comparison rule', async () => {
    for (const a of ['alice@example.com', 'ALICE@Example.COM', '"alice"@example.com', 'A.Liddell@example.com']) {
      assert.deepEqual(await ownsAddress(owned, a, rule()), { owned: true, via: 'listed' }, a)
    }
  })
  test('tricks and other people are not owned', async () => {
    for (const a of ['bob@example.com', '"bob"@example.com', 'alice%example.com@example.com', 'alice@example.com.', '"alice@example.com"@evil.example', 'alice+x@example.com', 'alice']) {
      assert.deepEqual(await ownsAddress(owned, a, rule()), { owned: false }, a)
    }
  })
  test('sub-addresses only when the option is on', async () => {
    assert.deepEqual(await ownsAddress(owned, 'alice+news@example.com', rule({ subaddressSeparator: '+' })), { owned: true, via: 'subaddress' })
    assert.deepEqual(await ownsAddress(owned, 'bob+alice@example.com', rule({ subaddressSeparator: '+' })), { owned: false })
  })
  test('send-as: a member of the mapped group may use the shared address (and its sub-addresses with the option)', async () => {
    asked.length = 0
    assert.deepEqual(await ownsAddress(owned, 'Sales@example.com', rule()), { owned: true, via: 'send_as', group: 'cn=sales,ou=groups,dc=example,dc=com' })
    assert.deepEqual(await ownsAddress(owned, 'ops@example.com', rule()), { owned: false })
    assert.deepEqual(await ownsAddress(owned, 'sales+q4@example.com', rule({ subaddressSeparator: '+' })), { owned: true, via: 'send_as', group: 'cn=sales,ou=groups,dc=example,dc=com' })
    assert.deepEqual(await ownsAddress(owned, 'other@example.com', rule()), { owned: false })
    assert.deepEqual(asked, ['cn=sales,ou=groups,dc=example,dc=com', 'cn=ops,ou=groups,dc=example,dc=com', 'cn=sales,ou=groups,dc=example,dc=com'])
  })
})

describe('per-session cache', () => {
  test('the entry is read once per key; a new key (another login, a reload) reads again', async () => {
    const notes: Record<string, any> = {}
    let loads = 0
    const load = async (): Promise<Owned> => {
      loads++
      return ownedFromEntry(DN, { mail: ['alice@example.com'] }, ['mail'])
    }
    await cachedOwned(senderCache(notes, 'alice'), load)
    await cachedOwned(senderCache(notes, 'alice'), load)
    assert.equal(loads, 1)
    await cachedOwned(senderCache(notes, 'alice+other-config'), load)
    assert.equal(loads, 2)
  })
  test('failures are not cached; group answers are', async () => {
    const notes: Record<string, any> = {}
    const cache = senderCache(notes, 'k')
    await assert.rejects(cachedOwned(cache, async () => Promise.reject(new Error('down'))), /down/)
    const o = await cachedOwned(cache, async () => ({ kind: 'no_entry' }))
    assert.deepEqual(o, { kind: 'no_entry' })
    let checks = 0
    const check = async () => (checks++, true)
    assert.equal(await cachedMembership(cache, 'cn=g', check), true)
    assert.equal(await cachedMembership(cache, 'cn=g', check), true)
    assert.equal(checks, 1)
    await assert.rejects(cachedMembership(cache, 'cn=h', async () => Promise.reject(new Error('down'))))
    assert.equal(await cachedMembership(cache, 'cn=h', async () => false), false)
  })
})
