// plugins/auth_stamp/bare_cr: the data hook wraps a real Haraka Transaction's add_data (Haraka's own
// transaction.js, as in production), the data_post gate gives the verdict. What is stored is read
// back the way Haraka's outbound queue reads it (dot-stuffing kept), so a removed CR can be seen
// never to make an end-of-data line.
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, test } from 'node:test'
import constants from 'haraka-constants'
import { bare_cr_gate, register, watch_bare_cr } from '../../plugins/auth_stamp/hooks'
import { parseStampConfig } from '../../lib/stamp/config'

const { createTransaction } = require('Haraka/transaction') as {
  createTransaction(uuid: string, cfg?: unknown): any
}

function cfgWith(main: Record<string, string>) {
  const r = parseStampConfig({ main })
  assert.ok(r.ok)
  return r.cfg
}

interface Session {
  plugin: { name: string; cfg: ReturnType<typeof cfgWith> }
  connection: Record<string, any>
  txn: any
  results: Record<string, unknown>[]
  notices: string[]
}

function session(bareCr: string): Session {
  const txn = createTransaction('5C8F2D1E-0000-4000-8000-000000000001.1')
  const results: Record<string, unknown>[] = []
  txn.results = { add: (_p: unknown, r: Record<string, unknown>) => results.push(r) }
  const notices: string[] = []
  const connection = { transaction: txn, lognotice: (_p: unknown, m: string) => notices.push(m) }
  const plugin = { name: 'auth_stamp', cfg: cfgWith({ bare_cr: bareCr }) }
  return { plugin, connection, txn, results, notices }
}

/** DATA: the hook, then each line as connection.accumulate_data hands it over, then end of data. */
async function receive(s: Session, lines: string[]): Promise<void> {
  const calls: unknown[][] = []
  const next = (...a: unknown[]) => calls.push(a)
  ;(watch_bare_cr as (...a: unknown[]) => void).call(s.plugin, next, s.connection)
  assert.deepEqual(calls, [[]], 'the data hook only watches: next() once, no code')
  for (const line of lines) s.txn.add_data(Buffer.from(line, 'latin1'))
  await new Promise<void>((resolve) => s.txn.end_data(resolve))
}

function gate(s: Session): unknown[] {
  const calls: unknown[][] = []
  const next = (...a: unknown[]) => calls.push(a)
  ;(bare_cr_gate as (...a: unknown[]) => void).call(s.plugin, next, s.connection)
  assert.equal(calls.length, 1, 'next() exactly once')
  return calls[0]!
}

/** The stored message as outbound sends it: dot-stuffing kept (Haraka's queue file: dot_stuffed: false). */
function wireForm(txn: any): Promise<string> {
  const chunks: Buffer[] = []
  return new Promise((resolve, reject) => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(Buffer.from(chunk))
        cb()
      },
    })
    sink.on('finish', () => resolve(Buffer.concat(chunks).toString('latin1')))
    sink.on('error', reject)
    txn.message_stream.pipe(sink, { dot_stuffed: false })
  })
}

const SMUGGLE = [
  'From: someone@remote.example\r\n',
  'Subject: hi\r\n',
  '\r\n',
  'line one\r.\rMAIL FROM:<ceo@example.com>\r\n',
  '\r.\r\n',
  'bye\r\n',
]

describe('bare_cr=refuse (the default)', () => {
  test('a bare CR anywhere in the data: 550 5.6.0 (DENY) with the reason logged and recorded', async () => {
    const s = session('refuse')
    await receive(s, SMUGGLE)
    const [code, dsn] = gate(s) as [number, { code: number; reply: string }]
    assert.equal(code, constants.deny)
    assert.equal(dsn.code, 550)
    assert.equal(dsn.reply, '5.6.0 Message refused: bare CR in the data; lines must end in CRLF')
    assert.deepEqual(s.notices, [
      'message refused: 3 bare CR(s) in 2 line(s), the first in data line 4 (body)',
      s.notices[1],
    ])
    // the refusal's audit line (haraka/record)
    const audit = JSON.parse(String(s.notices[1]).replace(/^audit /, ''))
    assert.equal(audit.label, 'bare_cr(refused)')
    assert.equal(audit.code, 550)
    assert.equal(audit.enhanced_code, '5.6.0')
    assert.deepEqual(s.results, [{ fail: 'bare_cr(refused)', emit: true }])
  })

  test('a bare CR in the header section is refused too, before Haraka folds it away', async () => {
    const s = session('refuse')
    await receive(s, ['Subject: hi\rBcc: victim@example.com\r\n', '\r\n', 'body\r\n'])
    assert.equal(gate(s)[0], constants.deny)
    assert.match(s.notices[0]!, /the first in data line 1 \(header\)$/)
  })

  test('a clean message: next() with no code, nothing recorded, stored byte for byte', async () => {
    const s = session('refuse')
    const clean = [
      'From: a@example.com\r\n',
      'Subject: x\r\n',
      '\r\n',
      '..dot-stuffed line\r\n',
      'CR LF only\r\n',
    ]
    await receive(s, clean)
    assert.deepEqual(gate(s), [])
    assert.deepEqual(s.results, [])
    assert.deepEqual(s.notices, [])
    assert.equal(await wireForm(s.txn), clean.join(''))
  })
})

describe('bare_cr=remove', () => {
  test('stored without bare CRs; a line that then begins with "." stays dot-stuffed (no end-of-data for the next hop)', async () => {
    const s = session('remove')
    await receive(s, SMUGGLE)
    assert.deepEqual(gate(s), [], 'accepted: next() with no code')
    const wire = await wireForm(s.txn)
    assert.equal(
      wire,
      'From: someone@remote.example\r\nSubject: hi\r\n\r\nline one.MAIL FROM:<ceo@example.com>\r\n..\r\nbye\r\n',
    )
    assert.ok(!/\r(?!\n)/.test(wire))
    assert.ok(!wire.includes('\r\n.\r\n'), 'no end-of-data sequence inside the message')
    assert.deepEqual(s.results, [{ pass: 'bare_cr(removed)' }])
    assert.deepEqual(s.notices, [
      'removed 3 bare CR(s) in 2 line(s), the first in data line 4 (body) (bare_cr=remove)',
    ])
  })

  test('the header parser sees the repaired header (CR CR LF line ends)', async () => {
    const s = session('remove')
    await receive(s, ['Subject: legacy\r\r\n', 'X-Mailer: old\r\r\n', '\r\r\n', 'body\r\r\n'])
    assert.equal(s.txn.header.get('subject'), 'legacy\n')
    assert.equal(s.txn.header.get('x-mailer'), 'old\n')
    assert.equal(await wireForm(s.txn), 'Subject: legacy\r\nX-Mailer: old\r\n\r\nbody\r\n')
  })
})

describe('bare_cr=allow', () => {
  test('delivered as sent (body), logged and recorded as skip', async () => {
    const s = session('allow')
    await receive(s, SMUGGLE)
    assert.deepEqual(gate(s), [])
    assert.ok((await wireForm(s.txn)).includes('line one\r.\rMAIL FROM:<ceo@example.com>\r\n'))
    assert.deepEqual(s.results, [{ skip: 'bare_cr(allowed)' }])
    assert.match(s.notices[0]!, /^delivered as sent with 3 bare CR\(s\) .* \(bare_cr=allow\)$/)
  })
})

describe('the mode in force at DATA decides, and the data hook must have run', () => {
  test('a reload between DATA and the end of data does not change what was stored or the verdict', async () => {
    const s = session('remove')
    ;(watch_bare_cr as (...a: unknown[]) => void).call(s.plugin, () => undefined, s.connection)
    s.plugin.cfg = cfgWith({ bare_cr: 'refuse' })
    s.txn.add_data(Buffer.from('Subject: a\rb\r\n', 'latin1'))
    await new Promise<void>((resolve) => s.txn.end_data(resolve))
    assert.deepEqual(gate(s), [])
    assert.deepEqual(s.results, [{ pass: 'bare_cr(removed)' }])
  })

  test('without the data hook (another plugin answered OK at DATA): recorded as err, not refused', () => {
    const s = session('refuse')
    assert.deepEqual(gate(s), [])
    assert.deepEqual(s.results, [{ err: 'bare_cr(not_scanned)' }])
  })
})

describe('register', () => {
  test('the data hook and the gate run before every other plugin (priority -100); the stamp after', () => {
    const hooks: Array<[string, string, number | undefined]> = []
    const plugin = {
      name: 'auth_stamp',
      config: { get: () => ({ main: {} }) },
      register_hook: (h: string, m: string, p?: number) => void hooks.push([h, m, p]),
      loginfo: () => undefined,
      logwarn: () => undefined,
      logerror: () => undefined,
      load_auth_stamp_ini() {},
    }
    ;(register as (this: unknown) => void).call(plugin)
    assert.deepEqual(hooks, [
      ['mail', 'name_in_received', undefined],
      ['data', 'watch_bare_cr', -100],
      ['data_post', 'bare_cr_gate', -100],
      ['data_post', 'stamp_message', undefined],
    ])
  })
})
