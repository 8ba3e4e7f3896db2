// plugins/eml_sink: the demo delivery stores the message and records it on the transaction;
// a message it cannot store is answered 451 4.3.0 (DENYSOFT), recorded and logged.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { after, describe, test } from 'node:test'
import constants from 'haraka-constants'
import { store_message } from '../../plugins/eml_sink/hooks'

const dir = mkdtempSync(path.join(tmpdir(), 'eml-sink-'))
after(() => rmSync(dir, { recursive: true, force: true }))

async function deliver(uuid: string) {
  const results: Record<string, unknown>[] = []
  const logs: string[] = []
  const log = (level: string) => (_p: unknown, m: string) => void logs.push(`${level}: ${m}`)
  const connection = {
    notes: { auth_user: 'alice' },
    remote: { ip: '192.0.2.7' },
    loginfo: log('info'),
    logerror: log('error'),
    transaction: {
      uuid,
      mail_from: { address: 'alice@example.com' },
      rcpt_to: [{ address: 'bob@example.com' }],
      message_stream: Readable.from([Buffer.from('Subject: hi\r\n\r\nbody\r\n')]),
      results: { add: (_p: unknown, r: Record<string, unknown>) => void results.push(r) },
    },
  }
  const calls = await new Promise<unknown[]>((resolve) =>
    (store_message as (...a: unknown[]) => void).call(
      { name: 'eml_sink', cfg: { dir } },
      (...args: unknown[]) => resolve(args),
      connection,
    ),
  )
  return { calls, results, logs }
}

describe('store_message', () => {
  test('stored: OK, queue(stored) on the transaction, the file logged', async () => {
    const { calls, results, logs } = await deliver('5C8F2D1E-0000-4000-8000-000000000001.1')
    const eml = path.join(dir, '5C8F2D1E-0000-4000-8000-000000000001.1.eml')
    assert.deepEqual(calls, [constants.ok])
    assert.deepEqual(results, [{ pass: 'queue(stored)' }])
    assert.deepEqual(logs, [`info: stored ${eml}`])
    assert.equal(readFileSync(eml, 'utf8'), 'Subject: hi\r\n\r\nbody\r\n')
    assert.ok(existsSync(eml.replace(/\.eml$/, '.json')))
  })

  test('not stored: 451 4.3.0 (DENYSOFT), queue(store_failed), the reason logged', async () => {
    const { calls, results, logs } = await deliver('../escape')
    assert.equal(calls[0], constants.denysoft)
    const dsn = calls[1] as { code: number; reply: string }
    assert.equal(dsn.code, 451)
    assert.equal(dsn.reply, '4.3.0 Could not store the message, try again later')
    assert.deepEqual(results, [{ err: 'queue(store_failed)' }])
    assert.deepEqual(logs, ['error: could not store message: unsafe message id "../escape"'])
  })
})
