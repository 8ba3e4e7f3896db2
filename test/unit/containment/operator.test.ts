// The operator's containment commands over a store: suspend, list (who, since,
// why), release (suspension, deferral and counts); input checked.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { gateOps, readGate } from '../../../lib/containment/budgets'
import {
  containmentCommands,
  listSuspended,
  releaseLogin,
  suspendLogin,
} from '../../../lib/containment/operator'
import { suspendOps } from '../../../lib/containment/suspension'
import { MemoryStateStore } from '../../../lib/state/memory'

const T0 = 1_800_000_000_000

test('suspend, list and release one login; others untouched', async () => {
  const s = new MemoryStateStore()
  assert.deepEqual(await listSuspended(s, T0), [])
  const r = await suspendLogin(s, 'Alice@Example.com', 'phished', T0)
  assert.deepEqual(r, {
    suspension: { login: 'alice@example.com', since: T0, rule: 'operator', reason: 'phished' },
    already: false,
  })
  assert.equal((await suspendLogin(s, 'alice@example.com', 'again', T0 + 1)).already, true)
  // a suspension made elsewhere (the AUTH limiter's trigger) is listed too
  await s.run(
    suspendOps({ login: 'bob@example.com', since: T0 - 5, rule: 'unfamiliar_after_failures', reason: 'x' }),
    T0,
  )
  const list = await listSuspended(s, T0 + 2)
  assert.deepEqual(
    list.map((x) => [x.login, x.rule]),
    [
      ['bob@example.com', 'unfamiliar_after_failures'],
      ['alice@example.com', 'operator'],
    ],
  )
  const rel = await releaseLogin(s, 'ALICE@example.com', T0 + 3)
  assert.equal(rel.released?.reason, 'again')
  assert.equal(readGate('alice@example.com', await s.run(gateOps('alice@example.com'), T0 + 4)).kind, 'clear')
  assert.equal(readGate('bob@example.com', await s.run(gateOps('bob@example.com'), T0 + 4)).kind, 'suspended')
  assert.deepEqual(
    (await listSuspended(s, T0 + 5)).map((x) => x.login),
    ['bob@example.com'],
  )
  const again = await releaseLogin(s, 'alice@example.com', T0 + 6)
  assert.equal(again.released, undefined)
  assert.equal(again.deferred, false)
})

test('release lifts a deferral', async () => {
  const s = new MemoryStateStore()
  await s.run([{ op: 'set', key: 'contain:defer:carol', value: '{}', ttlMs: 60_000 }], T0)
  const r = await releaseLogin(s, 'carol', T0 + 1)
  assert.equal(r.deferred, true)
  assert.equal(readGate('carol', await s.run(gateOps('carol'), T0 + 2)).kind, 'clear')
})

test('the socket commands check their input', async () => {
  const s = new MemoryStateStore()
  const cmds = containmentCommands(
    () => s,
    () => T0,
  )
  await assert.rejects(cmds.get('suspend')!({}), /login is required/)
  await assert.rejects(cmds.get('suspend')!({ login: 'a\nb' }), /control characters/)
  await assert.rejects(cmds.get('suspend')!({ login: 'a', reason: 'x'.repeat(201) }), /longer than 200/)
  const r = (await cmds.get('suspend')!({ login: 'dave' })) as { suspension: { reason: string } }
  assert.equal(r.suspension.reason, 'suspended by the operator')
  assert.deepEqual(await cmds.get('suspended.list')!({}), {
    suspended: [{ login: 'dave', since: T0, rule: 'operator', reason: 'suspended by the operator' }],
  })
  await assert.rejects(cmds.get('suspended.release')!({ login: 42 }), /login is required/)
})
