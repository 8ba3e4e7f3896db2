// POP/IMAP-before-SMTP: an IP that logged in to the POP/IMAP server a short
// while ago may relay without AUTH. The IMAP server's post-login hook records
// the login time (Unix seconds) per IP, in Redis (`SET <prefix><ip> <time>`)
// and/or in a file of `<ip> <time>` lines. Weaker than AUTH: it trusts an IP,
// not a person, and everyone behind that IP (NAT) shares the grant.
import { readFile, stat } from 'node:fs/promises'
import { withDeadline } from '../deadline'
import { normaliseIp } from '../net/ip'

/** Clock skew we tolerate for a writer whose time runs ahead of ours. */
const FUTURE_SLACK_S = 60

export type GrantCheck =
  { granted: true; source: 'redis' | 'file'; ageSeconds: number } | { granted: false; problems: string[] }

/** A recorded login time (Unix seconds) still within `ttl` seconds of `nowMs`. */
export function grantValid(
  value: unknown,
  nowMs: number,
  ttlSeconds: number,
): { valid: boolean; age: number; malformed: boolean } {
  const text = String(value ?? '').trim()
  if (!/^\d{1,12}$/.test(text)) return { valid: false, age: NaN, malformed: true }
  const age = Math.floor(nowMs / 1000) - Number(text)
  return { valid: age <= ttlSeconds && age >= -FUTURE_SLACK_S, age, malformed: false }
}

/** `<ip> <unix-time>` per line; `#` comments and blank lines skipped; a later line for an IP wins. */
export function parseGrantLines(text: string): Map<string, string> {
  const grants = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/)
    if (fields.length !== 2) continue
    const ip = normaliseIp(fields[0]!)
    if (ip) grants.set(ip, fields[1]!)
  }
  return grants
}

/** A grant file, re-read whenever its modification time or size changes. */
export class GrantFile {
  private seen = ''
  private grants = new Map<string, string>()

  constructor(readonly path: string) {}

  /** The recorded login time for `ip`; a file that does not exist (yet) holds no grants. */
  async timeFor(ip: string): Promise<string | undefined> {
    let st
    try {
      st = await stat(this.path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      this.seen = ''
      this.grants = new Map()
      return undefined
    }
    const version = `${st.mtimeMs}:${st.size}`
    if (version !== this.seen) {
      this.grants = parseGrantLines(await readFile(this.path, 'utf8'))
      this.seen = version
    }
    return this.grants.get(ip)
  }
}

/** The part of a node-redis client we use. */
export interface RedisLike {
  isReady?: boolean
  get(key: string): Promise<string | null>
}

export interface GrantSources {
  redis?: { client: RedisLike | undefined; prefix: string; timeoutMs: number }
  file?: GrantFile
  ttlSeconds: number
}

/** Is there a fresh grant for `ip`? Never throws: an unreadable source is a problem, not a grant. */
export async function checkGrant(
  rawIp: string,
  sources: GrantSources,
  nowMs = Date.now(),
): Promise<GrantCheck> {
  const problems: string[] = []
  const ip = normaliseIp(rawIp)
  if (!ip) return { granted: false, problems: [`${JSON.stringify(rawIp)} is not an IP address`] }
  const judge = (value: unknown, source: 'redis' | 'file'): GrantCheck | undefined => {
    if (value === undefined || value === null) return undefined
    const v = grantValid(value, nowMs, sources.ttlSeconds)
    if (v.malformed) problems.push(`${source}: login time for ${ip} is not a Unix time`)
    return v.valid ? { granted: true, source, ageSeconds: v.age } : undefined
  }
  if (sources.redis) {
    const { client, prefix, timeoutMs } = sources.redis
    if (!client || client.isReady === false) {
      problems.push('redis: not connected (is the redis plugin listed before auth_relay in config/plugins?)')
    } else {
      try {
        const time = client.get(`${prefix}${ip}`)
        const found = judge(
          await withDeadline(time, timeoutMs, `redis: no answer within ${timeoutMs} ms`),
          'redis',
        )
        if (found) return found
      } catch (err) {
        problems.push(`redis: ${(err as Error).message}`)
      }
    }
  }
  if (sources.file) {
    try {
      const found = judge(await sources.file.timeFor(ip), 'file')
      if (found) return found
    } catch (err) {
      problems.push(`file ${sources.file.path}: ${(err as Error).message}`)
    }
  }
  return { granted: false, problems }
}
