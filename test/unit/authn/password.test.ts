// lib/authn/password over the shared fake directory: "is the password right"
// for a login already normalised, in search and template mode. An outage is no
// outcome: the directory's error comes through with its class and message.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { authenticate } from '../../../lib/authn/password'
import { parseDirectoryConfig, type DirectoryConfig } from '../../../lib/ldap/config'
import { DirectoryBusyError, DirectoryUnavailableError } from '../../../lib/ldap/errors'
import type { AuthDirectory } from '../../../lib/ldap/types'
import { fakeDirectory, type FakeEntry } from '../../harness/fake_directory'

const ALICE_DN = 'uid=alice,ou=people,dc=example,dc=com'
const ENTRIES: FakeEntry[] = [
  {
    dn: ALICE_DN,
    password: 'pw',
    attributes: { objectClass: ['inetOrgPerson'], uid: ['alice'], mail: ['alice@example.com'] },
  },
  {
    dn: 'uid=twin,ou=a,dc=example,dc=com',
    password: 'pw',
    attributes: { objectClass: ['inetOrgPerson'], uid: ['twin'] },
  },
  {
    dn: 'uid=twin,ou=b,dc=example,dc=com',
    password: 'pw',
    attributes: { objectClass: ['inetOrgPerson'], uid: ['twin'] },
  },
]

function directory(main: Record<string, unknown> = {}): DirectoryConfig {
  const r = parseDirectoryConfig({
    main: { base_dn: 'dc=example,dc=com', bind_dn: 'cn=x', bind_password: 'x', ...main },
  })
  assert.ok(r.ok, r.ok ? '' : r.errors.join())
  return r.cfg
}

const TEMPLATE = {
  mode: 'template',
  dn_template: ['uid=%l,ou=staff,dc=example,dc=com', 'uid=%l,ou=people,dc=example,dc=com'],
}

describe('authenticate', () => {
  test('search mode: the one entry the filter matches, then a bind as it', async () => {
    const { dir, state } = fakeDirectory(directory(), ENTRIES)
    const ok = await authenticate(dir, 'search', 'alice@example.com', 'pw', { attributes: ['mail'] })
    assert.deepEqual(ok, {
      outcome: 'OK',
      dn: ALICE_DN,
      entry: { dn: ALICE_DN, attributes: { mail: ['alice@example.com'] } },
      reason: 'bind_ok',
    })
    assert.deepEqual(await authenticate(dir, 'search', 'alice', 'wrong'), {
      outcome: 'PASSWORD_MISMATCH',
      dn: ALICE_DN,
      reason: 'invalid_credentials',
    })
    assert.deepEqual(await authenticate(dir, 'search', 'mallory', 'pw'), {
      outcome: 'USER_UNKNOWN',
      reason: 'no_such_user',
    })
    assert.deepEqual(await authenticate(dir, 'search', 'twin', 'pw'), {
      outcome: 'AMBIGUOUS',
      reason: 'filter_matched_several_entries',
    })
    assert.equal(state.binds, 2, 'a bind for the right and the wrong password only')
  })

  test('template mode: the first dn_template the password binds to, and its index', async () => {
    const { dir, state } = fakeDirectory(directory(TEMPLATE), ENTRIES)
    const ok = await authenticate(dir, 'template', 'alice@ceo.example', 'pw')
    assert.deepEqual([ok.outcome, ok.dn, ok.template], ['OK', ALICE_DN, 1])
    const wrong = await authenticate(dir, 'template', 'alice', 'wrong')
    assert.deepEqual([wrong.outcome, wrong.dn], ['PASSWORD_MISMATCH', 'uid=alice,ou=staff,dc=example,dc=com'])
    assert.equal(state.binds, 4)
  })

  test('the empty password is refused before any bind or search', async () => {
    for (const [mode, cfg] of [
      ['search', directory()],
      ['template', directory(TEMPLATE)],
    ] as const) {
      const { dir, state } = fakeDirectory(cfg, ENTRIES)
      assert.deepEqual(await authenticate(dir, mode, 'alice', ''), {
        outcome: 'EMPTY_PASSWORD',
        reason: 'empty_password',
      })
      assert.equal(state.binds + state.searches, 0, mode)
    }
  })

  test('an outage, or a full pool, comes through as the directory threw it', async () => {
    const down = new DirectoryUnavailableError('connect ECONNREFUSED 127.0.0.1:389')
    const busy = new DirectoryBusyError('connection pool busy: no free connection within 5000 ms')
    const failing = (err: Error, cfg = directory()): AuthDirectory => ({
      ...fakeDirectory(cfg, ENTRIES).dir,
      findUser: async () => Promise.reject(err),
      bindAndRead: async () => Promise.reject(err),
    })
    for (const err of [down, busy]) {
      await assert.rejects(authenticate(failing(err), 'search', 'alice', 'pw'), (e) => e === err)
      await assert.rejects(
        authenticate(failing(err, directory(TEMPLATE)), 'template', 'alice', 'pw'),
        (e) => e === err,
      )
    }
  })
})
