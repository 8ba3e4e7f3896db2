// lib/backoff: the doubling ladder the failure delay, the limiter's delay and its ban lengths share.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { doubled } from '../../lib/backoff'

test('doubles from the base per step, up to the cap, and stays finite for any step', () => {
  assert.deepEqual(
    [0, 1, 2, 3].map((step) => doubled(100, step, 500)),
    [100, 200, 400, 500],
  )
  assert.equal(doubled(1, 1e9, Infinity), 2 ** 30)
  assert.equal(doubled(0, 5, 1000), 0)
})
