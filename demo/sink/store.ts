// Store one accepted message as <uuid>.eml plus <uuid>.json (the envelope).
// The .json is written last, atomically, so its presence means "complete".
import { createWriteStream } from 'node:fs'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Decision } from '../../lib/decisions'
import { REPLIES } from '../../lib/replies'

export interface Envelope {
  uuid: string
  mail_from: string
  rcpt_to: string[]
  remote_ip: string
  auth_user: string | null
  received_at: string
}

const SAFE_UUID = /^[A-Za-z0-9.-]+$/

/** Haraka's message stream pipes like a readable but is not a Node stream. */
export interface Pipeable {
  pipe(destination: NodeJS.WritableStream): unknown
}

export async function storeMessage(dir: string, envelope: Envelope, body: Pipeable): Promise<string> {
  if (!SAFE_UUID.test(envelope.uuid)) throw new Error(`unsafe message id ${JSON.stringify(envelope.uuid)}`)
  await mkdir(dir, { recursive: true })
  const eml = path.join(dir, `${envelope.uuid}.eml`)
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(eml, { mode: 0o640 })
    out.once('error', reject)
    out.once('close', resolve)
    body.pipe(out)
  })
  const json = path.join(dir, `${envelope.uuid}.json`)
  await writeFile(`${json}.tmp`, `${JSON.stringify(envelope, null, 2)}\n`, { mode: 0o640 })
  await rename(`${json}.tmp`, json)
  return eml
}

/** What eml_sink records for one message: queue(stored), or queue(store_failed) answered 451 4.3.0. */
export function storeDecision(stored: { file: string } | { error: Error }): Decision<'queue'> {
  const decision = { plugin: 'eml_sink', rule: 'queue' } as const
  if ('file' in stored) return { ...decision, reason: 'stored', verdict: 'pass', detail: stored.file }
  const detail = stored.error.message
  return { ...decision, reason: 'store_failed', verdict: 'err', reply: REPLIES.QUEUE_FAILED, detail }
}
