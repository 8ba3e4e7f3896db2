// Schema of config/shared_state.ini: where the abuse limits (AUTH limiter,
// containment) keep their counters, bans, familiar sources and suspensions, and
// how a shared store behaves when it cannot answer. And the reader of Redis's
// address from haraka-plugin-redis's own config/redis.ini, so one file says
// where Redis is for every plugin.
import { iniFile, parseMainSection } from '../config/schema'
import type { Parsed, SectionSpec, SectionValues } from '../config/schema'

export const SHARED_STATE_SPEC = {
  store: { type: 'enum', default: 'memory', values: ['memory', 'redis'] },
  prefix: { type: 'string', default: 'haraka-ldap:', pattern: /^\S+$/, hint: 'a key prefix without spaces' },
  timeout_ms: { type: 'int', default: 250, min: 10, max: 10000 },
  retry_ms: { type: 'int', default: 1000, min: 50, max: 600000 },
  on_failure: { type: 'enum', default: 'open', values: ['open', 'closed'] },
  max_keys: { type: 'int', default: 100000, min: 1000, max: 10000000 },
} satisfies SectionSpec

export type SharedStateConfig = SectionValues<typeof SHARED_STATE_SPEC>

export function parseSharedStateConfig(raw: Record<string, any>): Parsed<SharedStateConfig> {
  return parseMainSection(raw, SHARED_STATE_SPEC)
}

/** config/shared_state.ini */
export const SHARED_STATE_INI = iniFile('shared_state.ini', SHARED_STATE_SPEC, parseSharedStateConfig)

/** smtp.ini nodes that fork several workers ('cpus' counts as several: the machine decides). */
export function severalWorkers(nodes: unknown): boolean {
  return nodes === 'cpus' || (Number(nodes) || 0) > 1
}

/** Settings of shared_state.ini alone worth a line at load. */
export function storeWarnings(cfg: SharedStateConfig): string[] {
  if (cfg.store === 'redis' && cfg.on_failure === 'closed')
    return ['on_failure=closed: while Redis cannot answer, what the limits guard is refused (454 at AUTH)']
  return []
}

/** Settings worth a line at load, smtp.ini's nodes included. */
export function sharedStateWarnings(cfg: SharedStateConfig, nodes: unknown): string[] {
  const w: string[] = []
  if (cfg.store === 'memory' && severalWorkers(nodes))
    w.push(
      `store=memory with smtp.ini nodes=${String(nodes)}: each worker process counts and bans on its own (store=redis shares them)`,
    )
  return [...w, ...storeWarnings(cfg)]
}

/** Where Redis is: config/redis.ini's [server] (over [opts]), as haraka-plugin-redis reads it. */
export interface RedisConnection {
  host: string
  port: number
  /** a Unix socket instead of host and port */
  path?: string
  tls: boolean
  database?: number
  username?: string
  password?: string
}

const TRUE = /^(true|yes|on|1)$/i

/**
 * haraka-plugin-redis's normalize_redis_ini, for the keys that say where Redis is and how to
 * log in: `[opts]` under `[server]`, legacy `ip` for `host`, `db` for `database`. The other
 * sections and keys are the plugin's and are not checked here.
 */
export function parseRedisIni(raw: Record<string, any>): Parsed<RedisConnection> {
  const merged: Record<string, unknown> = { ...(raw.opts ?? {}), ...(raw.server ?? {}) }
  const text = (k: string): string | undefined => {
    const v = merged[k]
    return v === undefined || v === null || v === '' ? undefined : String(v)
  }
  const errors: string[] = []
  const port = Number(text('port') ?? 6379)
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    errors.push(`[server] port: ${JSON.stringify(text('port'))} is not a port number`)
  const db = text('database') ?? text('db')
  const database = db === undefined ? undefined : Number(db)
  if (database !== undefined && (!Number.isInteger(database) || database < 0))
    errors.push(`[server] database: ${JSON.stringify(db)} is not a database number`)
  if (errors.length) return { ok: false, errors }
  const cfg: RedisConnection = {
    host: text('host') ?? text('ip') ?? '127.0.0.1',
    port,
    tls: TRUE.test(text('tls') ?? ''),
    ...(text('path') !== undefined && { path: text('path') }),
    ...(database !== undefined && { database }),
    ...(text('username') !== undefined && { username: text('username') }),
    ...(text('password') !== undefined && { password: text('password') }),
  }
  return { ok: true, cfg: Object.freeze(cfg) }
}

/** config/redis.ini (haraka-plugin-redis's file) */
export const REDIS_INI = iniFile('redis.ini', {}, parseRedisIni)

/** host:port (or the socket path) and database, for log lines: never the password. */
export function describeRedis(c: RedisConnection): string {
  return `redis${c.tls ? 's' : ''}://${c.path ?? `${c.host}:${c.port}`}${c.database ? `/${c.database}` : ''}`
}
