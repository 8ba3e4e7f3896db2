import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryStateStore } from '../../../lib/state/memory'
import { stateStoreContract } from '../../harness/state_contract'

stateStoreContract('memory', async () => new MemoryStateStore())

test('memory: past maxKeys, expired keys go first, then the least recently written', () => {
  const s = new MemoryStateStore({ maxKeys: 3 })
  s.runNow([{ op: 'set', key: 'old', value: '1', ttlMs: 10 }], 0)
  s.runNow([{ op: 'set', key: 'a', value: '1', ttlMs: 1000 }], 1)
  s.runNow([{ op: 'set', key: 'b', value: '1', ttlMs: 1000 }], 2)
  s.runNow([{ op: 'set', key: 'c', value: '1', ttlMs: 1000 }], 20)
  assert.equal(s.size, 3)
  assert.deepEqual(
    s.runNow(
      [
        { op: 'get', key: 'old' },
        { op: 'get', key: 'a' },
      ],
      21,
    ),
    [null, '1'],
  )
  s.runNow([{ op: 'set', key: 'd', value: '1', ttlMs: 1000 }], 22)
  assert.equal(s.size, 3)
  assert.deepEqual(
    s.runNow(
      [
        { op: 'get', key: 'a' },
        { op: 'get', key: 'b' },
        { op: 'get', key: 'd' },
      ],
      23,
    ),
    [null, '1', '1'],
  )
})
