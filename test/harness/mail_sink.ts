// Reads what the eml_sink queue plugin wrote: <uuid>.eml, then <uuid>.json (envelope).
// The .json is written last, so a message counts only once it exists and parses.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import type { Envelope } from '../../demo/sink/store'

export type { Envelope }

export interface Message {
  uuid: string
  envelope: Envelope
  eml: string
  /** Unfolded values of every header field with that name (case-insensitive), header section only. */
  headers(name: string): string[]
}

/** Header section of a raw message: everything before the first empty line. */
export function headerSection(eml: string): string {
  const match = /\r?\n\r?\n/.exec(eml)
  return match ? eml.slice(0, match.index) : eml
}

/** Every field as [name, unfolded value], in order. */
export function parseHeaderFields(eml: string): Array<[string, string]> {
  const fields: Array<[string, string]> = []
  for (const line of headerSection(eml).split(/\r?\n/)) {
    const last = fields[fields.length - 1]
    if (/^[ \t]/.test(line) && last) {
      last[1] += line // unfolding removes only the line break (RFC 5322 2.2.3)
      continue
    }
    const colon = line.indexOf(':')
    if (colon > 0) fields.push([line.slice(0, colon).trim(), line.slice(colon + 1)])
  }
  return fields.map(([name, value]) => [name, value.trim()])
}

function readMessage(mailDir: string, uuid: string): Message | undefined {
  let envelope: Envelope
  let eml: string
  try {
    envelope = JSON.parse(readFileSync(path.join(mailDir, `${uuid}.json`), 'utf8')) as Envelope
    eml = readFileSync(path.join(mailDir, `${uuid}.eml`), 'utf8')
  } catch {
    return undefined // not complete yet
  }
  const fields = parseHeaderFields(eml)
  return {
    uuid,
    envelope,
    eml,
    headers: (name) => fields.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v),
  }
}

/** Complete messages in mailDir, oldest first. */
export function listMessages(mailDir: string): Message[] {
  let names: string[]
  try {
    names = readdirSync(mailDir)
  } catch {
    return []
  }
  return names
    .filter((name) => name.endsWith('.json'))
    .map((name) => readMessage(mailDir, name.slice(0, -'.json'.length)))
    .filter((msg): msg is Message => msg !== undefined)
    .sort((a, b) => String(a.envelope.received_at).localeCompare(String(b.envelope.received_at)))
}

/** The first complete message matching predicate; rejects after timeoutMs. */
export async function waitForMessage(
  mailDir: string,
  predicate: (msg: Message) => boolean = () => true,
  timeoutMs = 5000,
): Promise<Message> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = listMessages(mailDir).find(predicate)
    if (found) return found
    if (Date.now() >= deadline) {
      const seen = listMessages(mailDir).map((m) => `${m.uuid} from=<${m.envelope.mail_from}>`)
      throw new Error(
        `no matching message in ${mailDir} after ${timeoutMs} ms; present: ${seen.join(', ') || 'none'}`,
      )
    }
    await sleep(50)
  }
}
