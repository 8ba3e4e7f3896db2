// lib/stamp/identity identityFor: which value the identity header gets, over the in-memory
// directory (the lookup itself, on slapd: test/unit/stamp/primary).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseDirectoryConfig } from '../../../lib/ldap/config'
import { DirectoryHandle } from '../../../lib/ldap/handle'
import { parseStampConfig } from '../../../lib/stamp/config'
import { identityFor } from '../../../lib/stamp/identity'
import { fakeDirectory } from '../../harness/fake_directory'
import { resultOf } from '../../harness/results'

function stampCfg(main: Record<string, string>) {
  const r = parseStampConfig({ main })
  assert.ok(r.ok)
  return r.cfg
}

/** The in-memory directory with alice, answering each search after `delayMs`. */
function slowDirectory(delayMs: number) {
  const r = parseDirectoryConfig({
    main: { base_dn: 'dc=example,dc=com', bind_dn: 'cn=x', bind_password: 'x' },
  })
  assert.ok(r.ok)
  const entry = {
    dn: 'uid=alice,dc=example,dc=com',
    attributes: { objectClass: ['inetOrgPerson'], uid: ['alice'], mail: ['alice@example.com'] },
  }
  const { dir } = fakeDirectory(r.cfg, [entry])
  const findUser = dir.findUser.bind(dir)
  dir.findUser = async (...args) => (await sleep(delayMs), findUser(...args))
  return { handle: new DirectoryHandle(() => dir), cfg: r.cfg }
}

describe('identityFor', () => {
  test('identity_value=login: the login, nothing recorded', async () => {
    assert.deepEqual(await identityFor(stampCfg({}), 'alice', undefined, 1000), { value: 'alice' })
  })

  test('identity_value=address without a usable ldap_directory.ini: the login, recorded as err', async () => {
    const v = await identityFor(stampCfg({ identity_value: 'address' }), 'alice', undefined, 1000)
    assert.equal(v.value, 'alice')
    assert.deepEqual(resultOf(v.decision), { err: 'address(directory_not_configured)' })
    assert.equal(v.fallback, 'ldap_directory.ini is not usable')
  })

  test('no plugin timeout (an Infinity budget): no deadline of ours, the answer is waited for', async () => {
    const { handle, cfg } = slowDirectory(30)
    handle.update(cfg)
    const directory = { handle, mode: 'search' }
    const v = await identityFor(stampCfg({ identity_value: 'address' }), 'alice', directory, Infinity)
    assert.equal(v.value, 'alice@example.com')
    assert.deepEqual(resultOf(v.decision), { pass: 'address(primary)' })
    const late = await identityFor(stampCfg({ identity_value: 'address' }), 'alice', directory, 5)
    assert.deepEqual(resultOf(late.decision), { err: 'address(directory_unavailable)' })
    assert.match(late.fallback ?? '', /no answer within 5 ms/)
    await handle.close()
  })
})
