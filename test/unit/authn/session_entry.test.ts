// What an AUTH verdict hands the checks after it (the login's entry), and the group
// check that runs alongside the bind: answers as before, one round trip less.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseAuthConfig } from '../../../lib/authn/config'
import { CredentialCache } from '../../../lib/authn/cache'
import { verifyCredentials, type VerifyContext } from '../../../lib/authn/verify'
import { DirectoryUnavailableError } from '../../../lib/ldap/errors'
import { fakeDirectory, fakeDirectoryConfig } from '../../harness/fake_directory'

const ALICE_DN = 'uid=alice,ou=people,dc=example,dc=com'
const GROUP = 'cn=senders,ou=groups,dc=example,dc=com'

function setup(main: Record<string, unknown> = {}, members = [ALICE_DN]) {
  const { dir, state } = fakeDirectory(fakeDirectoryConfig(), [
    {
      dn: ALICE_DN,
      password: 'pw',
      attributes: {
        objectClass: ['inetOrgPerson'],
        uid: ['alice'],
        mail: ['alice@example.com'],
        proxyAddresses: ['smtp:a@example.com'],
        employeeType: ['active'],
      },
    },
    { dn: GROUP, attributes: { member: members } },
  ])
  const cfg = parseAuthConfig({ main })
  if (!cfg.ok) throw new Error(cfg.errors.join())
  const ctx: VerifyContext = { directory: dir, mode: 'search', cfg: cfg.cfg }
  return { dir, state, ctx }
}
const alice = (password = 'pw') => ({ authcid: 'alice@example.com', authzid: '', password })

describe('the entry an AUTH verdict carries', () => {
  test('search mode: the entry with the session attributes, read in the one user search', async () => {
    const { state, ctx } = setup()
    const v = await verifyCredentials({ ...ctx, sessionAttributes: ['proxyAddresses'] }, alice())
    assert.equal(v.outcome, 'OK')
    assert.equal(v.found?.entry.dn, ALICE_DN)
    assert.deepEqual(v.found?.entry.attributes.proxyaddresses, ['smtp:a@example.com'])
    assert.ok(v.found?.read.includes('proxyaddresses'))
    assert.equal(state.searches, 1)
  })

  test('a refused login carries none; template mode carries none', async () => {
    const { ctx } = setup()
    assert.equal((await verifyCredentials(ctx, alice('wrong'))).found, undefined)
    const v = await verifyCredentials({ ...ctx, mode: 'template' }, alice())
    assert.equal(v.found, undefined)
  })

  test('a credential cache hit carries the entry stored with it, with no directory operation', async () => {
    const { state, ctx } = setup({ cache_ttl: 60 })
    const cache = new CredentialCache({ ttlMs: 60_000, negativeTtlMs: 0, staleMs: 0, maxEntries: 10 })
    const first = await verifyCredentials({ ...ctx, cache }, alice())
    const before = state.requests.length
    const hit = await verifyCredentials({ ...ctx, cache }, alice())
    assert.equal(hit.reason, 'cache_ok')
    assert.deepEqual(hit.found, first.found)
    assert.equal(state.requests.length, before)
  })
})

describe('the required group, asked alongside the bind', () => {
  const group = { require_group: GROUP }

  test('member: OK; not a member: refused; both asked before the bind answered', async () => {
    const { state, ctx } = setup(group)
    assert.equal((await verifyCredentials(ctx, alice())).outcome, 'OK')
    assert.deepEqual(
      state.requests.map((r) => r.split(' ')[0]),
      ['search', 'member', 'bind'],
    )
    const out = setup(group, [])
    const v = await verifyCredentials(out.ctx, alice())
    assert.equal(v.outcome, 'ACCOUNT_REFUSED')
    assert.equal(v.reason, 'not_in_required_group')
  })

  test('a wrong password is a mismatch even when the group check fails', async () => {
    const { dir, ctx } = setup(group)
    dir.isMember = async () => {
      throw new DirectoryUnavailableError('group check failed: connect ECONNREFUSED')
    }
    assert.equal((await verifyCredentials(ctx, alice('wrong'))).outcome, 'PASSWORD_MISMATCH')
    assert.equal((await verifyCredentials(ctx, alice())).outcome, 'DIRECTORY_DOWN')
  })

  test('an account refused before the group step stays refused for that reason when the group check fails', async () => {
    const { dir, ctx } = setup({ ...group, disabled_attribute: 'employeeType', disabled_values: 'active' })
    dir.isMember = async () => {
      throw new DirectoryUnavailableError('group check failed: connect ECONNREFUSED')
    }
    const v = await verifyCredentials(ctx, alice())
    assert.equal(v.outcome, 'ACCOUNT_REFUSED')
    assert.equal(v.reason, 'account_disabled')
  })
})
