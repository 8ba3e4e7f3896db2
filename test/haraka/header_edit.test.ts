// haraka/header_edit: removing fields from a real Haraka transaction's header. What is delivered
// loses them, and Haraka's lookup maps (header.get, get_decoded) say what a fresh parse of the fields
// that are left would say, for the names removed; every other name is left exactly as it was.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { removeFields } from '../../haraka/header_edit'
import { delivered, receivedTransaction } from '../harness/transaction'

const text = async (txn: any) => (await delivered(txn)).toString('utf8')

const WIRE = [
  'From: alice@example.com',
  'X-Authenticated-User: ceo@example.com',
  'Subject: =?UTF-8?Q?caf=C3=A9?=',
  'X-Authenticated-User:',
  '\tfolded@example.com',
  'Authentication-Results: mail.example.com; auth=pass',
  'Authentication-Results: mx.other.example; spf=pass',
  'To: bob@example.com',
  '',
  'body',
]

describe('removeFields', () => {
  test('the fields are gone from what is delivered; a name with none left is gone from the maps', async () => {
    const txn = await receivedTransaction(WIRE)
    const list = txn.header.header_list
    assert.equal(removeFields(txn.header, [3, 1]), 2)
    assert.equal(txn.header.header_list, list, 'the same array the message stream reads')
    assert.deepEqual(txn.header.get_all('X-Authenticated-User'), [])
    assert.equal(txn.header.get_decoded('X-Authenticated-User'), '')
    assert.ok(!('x-authenticated-user' in txn.header.headers))
    assert.ok(!('x-authenticated-user' in txn.header.headers_decoded))
    const eml = await text(txn)
    assert.doesNotMatch(eml, /X-Authenticated-User|ceo@|folded@/)
    assert.match(eml, /^From: alice@example\.com\r?\nSubject: /)
  })

  test('a name with fields left gets the values Haraka reads from them; other names are untouched', async () => {
    const txn = await receivedTransaction(WIRE)
    txn.add_leading_header('X-Added', 'by a plugin')
    const added = txn.header.headers['x-added']
    const subject = txn.header.headers_decoded['subject']
    assert.equal(removeFields(txn.header, [5]), 1, 'the first Authentication-Results (5, after X-Added)')
    assert.deepEqual(txn.header.get_all('Authentication-Results'), ['mx.other.example; spf=pass\n'])
    assert.deepEqual(txn.header.headers_decoded['authentication-results'], ['mx.other.example; spf=pass'])
    assert.equal(txn.header.headers['x-added'], added, 'not re-read')
    assert.equal(txn.header.headers_decoded['subject'], subject, 'not re-read')
    assert.equal(txn.header.get_decoded('Subject'), 'café')
  })

  test('nothing to remove: nothing changes', async () => {
    const txn = await receivedTransaction(WIRE)
    const before = JSON.stringify(txn.header.headers)
    assert.equal(removeFields(txn.header, []), 0)
    assert.equal(txn.header.header_list.length, 7)
    assert.equal(JSON.stringify(txn.header.headers), before)
  })
})
