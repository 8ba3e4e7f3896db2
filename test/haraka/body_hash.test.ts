// haraka/body_hash: the body hash over a real Haraka transaction's message_stream
// (in memory and spooled to disk), equal to the hash of the body as it is delivered,
// and every failure of the stream a rejection, never a promise left pending.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { after, describe, test } from 'node:test'
import { hashMessageBody } from '../../haraka/body_hash'
import { bodyHash, bodyOfRaw } from '../../lib/stamp/body'
import { delivered, receivedTransaction } from '../harness/transaction'

const spoolDir = mkdtempSync(path.join(tmpdir(), 'body-hash-'))
after(() => rmSync(spoolDir, { recursive: true, force: true }))

/** A transaction spooled under spoolDir (spool_after: when it goes to disk). */
const transaction = (wireLines: string[], cfg: Record<string, unknown> = {}) =>
  receivedTransaction(wireLines, { main: { spool_dir: spoolDir, ...cfg } })

const WIRE = [
  'From: alice@example.com',
  'Subject: dots',
  '',
  'Hello.',
  '..hidden line starts with a dot',
  '...',
  '',
  'end',
  '',
  '',
]

describe('hashMessageBody over message_stream', () => {
  test('the hash of the body without dot-stuffing, as delivered and as a saved .eml gives it', async () => {
    const txn = await transaction(WIRE)
    const h = await hashMessageBody(txn.message_stream)
    assert.equal(h, bodyHash('Hello.\r\n.hidden line starts with a dot\r\n..\r\n\r\nend\r\n'))
    assert.equal(h, bodyHash(bodyOfRaw(await delivered(txn))))
    // headers added after DATA (auth_stamp adds Date, Message-ID, the stamp) do not change it
    txn.add_header('Date', 'Tue, 01 Dec 2026 09:00:00 +0000')
    txn.add_leading_header('X-Auth-Stamp', 'v=2')
    assert.equal(await hashMessageBody(txn.message_stream), h, 'read twice, same hash')
  })

  test('a message spooled to disk gives the same hash', async () => {
    const big = Array.from({ length: 3000 }, (_, i) => `line ${i} ${'x'.repeat(60)}`)
    const memory = await transaction(['From: a@example.com', '', ...big])
    const spooled = await transaction(['From: a@example.com', '', ...big], { spool_after: 1024 })
    assert.equal(spooled.message_stream.spooling, true, 'the test message is spooled')
    assert.equal(await hashMessageBody(spooled.message_stream), await hashMessageBody(memory.message_stream))
    assert.equal(await hashMessageBody(spooled.message_stream), bodyHash(`${big.join('\r\n')}\r\n`))
    spooled.message_stream.destroy()
  })

  test('a message without a body, and one whose header never ended', async () => {
    assert.equal(
      await hashMessageBody((await transaction(['From: a@example.com', 'Subject: x'])).message_stream),
      bodyHash(''),
    )
    const busted = await transaction(['From: a@example.com', 'not a header line', 'more'])
    assert.equal(await hashMessageBody(busted.message_stream), bodyHash(bodyOfRaw(await delivered(busted))))
  })

  test('an error of the stream (it refuses a header line over 1 MB): rejected, not left pending', async () => {
    const txn = await transaction(['From: a@example.com', `X-Filler: ${'y'.repeat(1100 * 1024)}`, '', 'body'])
    const seen: Error[] = []
    txn.message_stream.on('error', (err: Error) => seen.push(err)) // Haraka's connection listens too
    await assert.rejects(hashMessageBody(txn.message_stream), /Header size limit exceeded/)
    assert.equal(seen.length, 1)
    assert.equal(txn.message_stream.listenerCount('error'), 1, 'our listener is gone')
  })

  test('a stream another reader is still piping: rejected at once', async () => {
    const txn = await transaction(WIRE)
    const slow = new PassThrough({ highWaterMark: 1 })
    txn.message_stream.pipe(slow) // never read
    await assert.rejects(hashMessageBody(txn.message_stream), /Cannot pipe while currently piping/)
    assert.equal(txn.message_stream.listenerCount('error'), 0)
    txn.message_stream.unpipe()
  })
})
