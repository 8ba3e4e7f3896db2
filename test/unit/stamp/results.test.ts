// lib/stamp/results: auth_stamp's decisions as the results store shows them.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { addedDecision, stampDecision } from '../../../lib/stamp/results'
import { resultOf } from '../../harness/results'

describe('auth_stamp decisions', () => {
  test('a field added to a submission: stamp(date_added), stamp(message_id_added)', () => {
    assert.deepEqual(resultOf(addedDecision({ name: 'Date', value: 'x' })), { pass: 'stamp(date_added)' })
    assert.deepEqual(resultOf(addedDecision({ name: 'Message-ID', value: '<x@y>' })), {
      pass: 'stamp(message_id_added)',
    })
  })

  test('a decision of auth_stamp names the plugin; a detail only when there is one', () => {
    assert.deepEqual(stampDecision('sign', 'fail', 'no_date'), {
      plugin: 'auth_stamp',
      rule: 'sign',
      reason: 'no_date',
      verdict: 'fail',
    })
    assert.equal(stampDecision('bare_cr', 'pass', 'removed', 'why').detail, 'why')
  })
})
