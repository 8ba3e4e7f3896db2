// lib/stamp/bare_cr: auth_stamp's decision on a scanned message's bare CRs, per bare_cr mode.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { labelOf } from '../../../lib/decisions'
import { BareCrScan, type BareCrMode } from '../../../lib/mail/bare_cr'
import { REPLIES } from '../../../lib/replies'
import { bareCrVerdict, NOT_SCANNED } from '../../../lib/stamp/bare_cr'
import { resultOf } from '../../harness/results'

/** A scan of these DATA lines (wire form) under `mode`. */
function scan(mode: BareCrMode, lines: string[]): BareCrScan {
  const s = new BareCrScan(mode)
  for (const line of lines) s.next(Buffer.from(line, 'latin1'))
  return s
}

const SMUGGLE = ['From: a@example.com\r\n', 'Subject: hi\r\n', '\r\n', 'one\r.\rMAIL FROM:<ceo@x>\r\n']

describe('bareCrVerdict', () => {
  test('a clean message: nothing to record', () => {
    assert.deepEqual(bareCrVerdict(scan('refuse', ['Subject: x\r\n', '\r\n', 'body\r\n'])), {
      action: 'none',
    })
  })

  test('by mode: refuse, removed, allowed, with labels and a reason', () => {
    const detail = '2 bare CR(s) in 1 line(s), the first in data line 4 (body)'
    const verdict = (mode: BareCrMode) => {
      const v = bareCrVerdict(scan(mode, SMUGGLE))
      assert.ok(v.action !== 'none')
      assert.equal(v.decision.detail, detail)
      return { action: v.action, label: resultOf(v.decision) }
    }
    assert.deepEqual(verdict('refuse'), { action: 'refuse', label: { fail: 'bare_cr(refused)' } })
    assert.deepEqual(verdict('remove'), { action: 'removed', label: { pass: 'bare_cr(removed)' } })
    assert.deepEqual(verdict('allow'), { action: 'allowed', label: { skip: 'bare_cr(allowed)' } })
  })

  test('only a refusal answers, with 550 5.6.0; a message not scanned is recorded as err', () => {
    const refused = bareCrVerdict(scan('refuse', SMUGGLE))
    assert.ok(refused.action === 'refuse')
    assert.equal(refused.decision.reply, REPLIES.BARE_CR_REFUSED)
    for (const mode of ['remove', 'allow'] as const) {
      const v = bareCrVerdict(scan(mode, SMUGGLE))
      assert.ok(v.action !== 'none' && v.decision.reply === undefined, mode)
    }
    assert.equal(labelOf(NOT_SCANNED), 'bare_cr(not_scanned)')
    assert.equal(NOT_SCANNED.verdict, 'err')
  })
})
