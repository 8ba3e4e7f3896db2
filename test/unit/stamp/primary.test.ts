// lib/stamp/primary and lib/stamp/identity: the login's primary address, read
// from a real slapd, and the fallback to the login when it cannot be had.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Directory } from '../../../lib/ldap/types'
import { identityValue } from '../../../lib/stamp/identity'
import { primaryAddress } from '../../../lib/stamp/primary'
import { TestDirectories } from '../../harness/directories'
import { fakeDirectory, fakeDirectoryConfig } from '../../harness/fake_directory'
import { resultOf } from '../../harness/results'
import { startSlapd, type Slapd } from '../../harness/slapd'
import { DEMO_LDIF, FIXTURE_DIR } from '../../harness/stack'

let slapd: Slapd
const dirs = new TestDirectories()
const open = (overrides: Record<string, unknown> = {}): Directory => dirs.open(slapd.url, overrides)

before(async () => {
  slapd = await startSlapd({
    ldif: [DEMO_LDIF, path.join(FIXTURE_DIR, 'stamp-people.ldif')],
    schemas: [path.join(FIXTURE_DIR, 'directory-extras.schema')],
  })
})
after(async () => {
  await dirs.closeAll()
  await slapd?.dispose()
})

describe('primaryAddress on slapd', () => {
  test('search mode, by uid or by address: the first mail value', async () => {
    const d = open()
    assert.deepEqual(await primaryAddress(d, 'search', 'alice', 'mail'), {
      kind: 'found',
      address: 'alice@example.com',
    })
    assert.deepEqual(await primaryAddress(d, 'search', 'a.liddell@example.com', 'mail'), {
      kind: 'found',
      address: 'alice@example.com',
    })
  })

  test('template mode reads the entry by DN', async () => {
    const d = open({ mode: 'template', dn_template: 'uid=%l,ou=people,dc=example,dc=com' })
    assert.deepEqual(await primaryAddress(d, 'template', 'carol@example.com', 'mail'), {
      kind: 'found',
      address: 'carol@example.com',
    })
    assert.deepEqual(await primaryAddress(d, 'template', 'nobody@example.com', 'mail'), { kind: 'no_entry' })
  })

  test('Active Directory style proxyAddresses', async () => {
    const d = open()
    assert.deepEqual(await primaryAddress(d, 'search', 'dave', 'proxyAddresses'), {
      kind: 'found',
      address: 'Dave.Lister@example.com',
    })
  })

  test('no such login, and an entry without the attribute', async () => {
    const d = open()
    assert.deepEqual(await primaryAddress(d, 'search', 'nobody', 'mail'), { kind: 'no_entry' })
    assert.deepEqual(await primaryAddress(d, 'search', 'erin', 'mail'), { kind: 'no_address' })
  })
})

describe('identityValue falls back to the login', () => {
  test('found: the address, recorded as address(primary)', async () => {
    const v = await identityValue(open(), {
      mode: 'search',
      login: 'alice',
      attribute: 'mail',
      budgetMs: 5000,
    })
    assert.deepEqual(
      { ...v, decision: resultOf(v.decision) },
      {
        value: 'alice@example.com',
        decision: { pass: 'address(primary)' },
      },
    )
  })

  test('no address: the login, recorded as address(no_address)', async () => {
    const v = await identityValue(open(), {
      mode: 'search',
      login: 'erin',
      attribute: 'mail',
      budgetMs: 5000,
    })
    assert.equal(v.value, 'erin')
    assert.deepEqual(resultOf(v.decision), { fail: 'address(no_address)' })
  })

  test('directory down: the login, recorded as address(directory_unavailable)', async () => {
    const d = dirs.open('ldap://127.0.0.1:1', { connect_timeout: 500, timeout: 1000 })
    const v = await identityValue(d, { mode: 'search', login: 'alice', attribute: 'mail', budgetMs: 5000 })
    assert.equal(v.value, 'alice')
    assert.deepEqual(resultOf(v.decision), { err: 'address(directory_unavailable)' })
    assert.match(v.fallback ?? '', /directory unavailable/)
  })

  test('a directory that never answers is cut off by the time budget (fake directory: pure timing logic)', async () => {
    const { dir: hanging, state } = fakeDirectory(fakeDirectoryConfig(), [])
    state.hold = new Promise<never>(() => undefined)
    const started = Date.now()
    const v = await identityValue(hanging, {
      mode: 'search',
      login: 'alice',
      attribute: 'mail',
      budgetMs: 200,
    })
    assert.equal(v.value, 'alice')
    assert.deepEqual(resultOf(v.decision), { err: 'address(directory_unavailable)' })
    assert.match(v.fallback ?? '', /no answer within 200 ms/)
    assert.ok(Date.now() - started < 5000)
  })
})
