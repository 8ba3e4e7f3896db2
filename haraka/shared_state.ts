// The process's one StateStore (lib/state) for the abuse limits, shared by
// ldap_auth (the AUTH limiter) and auth_relay (containment) through server.notes.
// config/shared_state.ini chooses it: per-process memory (the default: one Haraka
// process, the demo), or Redis (store=redis: every process and host that uses the
// same Redis shares counters, bans, familiar sources and suspensions), at the
// address in config/redis.ini, with a per-process fallback (haraka/redis_state).
//
// Both plugins call useSharedState(this) in register(): it reads the ini files and
// opens the store at init_master/init_child, before the first session
// (sharedState(connection) opens it on first use otherwise). A changed setting
// (a reload) opens a new store at the next batch; the old one's counts stay behind.
import { randomBytes } from 'node:crypto'
import type { Connection, Plugin } from 'haraka'
import {
  describeRedis,
  REDIS_INI,
  SHARED_STATE_INI,
  sharedStateWarnings,
  type RedisConnection,
  type SharedStateConfig,
} from '../lib/state/config'
import { MemoryStateStore } from '../lib/state/memory'
import type { ResilientStats, StateChange } from '../lib/state/resilient'
import type { StateStore } from '../lib/state/store'
import { withDeadline } from '../lib/deadline'
import { isClusterMaster } from './cluster'
import { loadValidated } from './load_config'
import { apply, gaugeSource } from './metrics'
import { openRedisState, type RedisState } from './redis_state'

const NOTE = 'ldap_submission_state'

type Notes = Record<string, unknown>
type WithServer = { server?: { notes?: Notes } }

/** A session, or what a hook without one holds (init_*, bounce, the admin socket): Haraka's server object. */
export type StateHolder = Connection | { server: { notes?: Notes } | undefined }

function notesOf(holder: StateHolder): Notes | undefined {
  return (holder as WithServer).server?.notes
}

interface Settings {
  cfg: SharedStateConfig
  redis?: RedisConnection
}

/** A store this module made, and what from. */
interface Holder {
  key: string
  store: StateStore
  redis?: RedisState
  /** the Redis-kept secret, once fetched */
  secret?: Buffer
  fetching?: Promise<Buffer | undefined>
}

let settings: Settings | undefined
/** the settings as JSON, made once per load: storeOn compares it at every MAIL and RCPT */
let settingsKey = ''
const DEFAULTS = (SHARED_STATE_INI.parse({}) as { ok: true; cfg: SharedStateConfig }).cfg
/** the plugin whose log carries the store's own lines (up/down) */
let logger: Plugin | undefined

/** The secret of a process that has no shared one: random, for its whole life. */
const PROCESS_SECRET = randomBytes(32)

/**
 * register(): read shared_state.ini (and redis.ini when store=redis), re-read on change.
 * Either plugin may call it; both see the same settings (one per process).
 */
export function loadSharedState(plugin: Plugin): void {
  logger ??= plugin
  const reload = () => loadSharedState(plugin)
  // undefined only after a bad reload with nothing valid before it (logged): the defaults then
  const cfg = loadValidated(plugin, SHARED_STATE_INI, reload, settings?.cfg) ?? DEFAULTS
  const redis = cfg.store === 'redis' ? loadValidated(plugin, REDIS_INI, reload, settings?.redis) : undefined
  const next = { cfg, redis }
  const nextKey = JSON.stringify(next)
  const changed = !settings || nextKey !== settingsKey
  settings = next
  settingsKey = nextKey
  if (!changed) return
  const where = redis
    ? `redis at ${describeRedis(redis)} (prefix ${cfg.prefix})`
    : 'memory (this process only)'
  plugin.loginfo(`shared_state.ini: abuse-limit state in ${where}`)
  const nodes = (plugin.config.get('smtp.ini') as { main?: { nodes?: unknown } } | undefined)?.main?.nodes
  for (const w of sharedStateWarnings(cfg, nodes)) plugin.logwarn(`shared_state.ini: ${w}`)
}

type InitNext = (code?: number, msg?: string) => void
type InitServer = { notes?: Notes; cluster?: unknown }

/**
 * register(): loadSharedState, and open the store at init_master (one process) or
 * init_child (each worker; the master of workers serves nobody), so the first session
 * finds Redis connected. Never waits for Redis: a Redis that is down at start is
 * connected to when it comes up, and Haraka starts all the same.
 */
export function useSharedState(plugin: Plugin): void {
  loadSharedState(plugin)
  const p = plugin as Plugin & Record<string, unknown>
  p.shared_state_init_master = function (next: InitNext, server: InitServer) {
    if (!isClusterMaster(server) && server.notes) storeOn(server.notes)
    next()
  }
  p.shared_state_init_child = function (next: InitNext, server: InitServer) {
    if (server.notes) storeOn(server.notes)
    next()
  }
  plugin.register_hook('init_master', 'shared_state_init_master')
  plugin.register_hook('init_child', 'shared_state_init_child')
}

/** The store of the process this session runs in. */
export function sharedState(connection: StateHolder): StateStore {
  const notes = notesOf(connection)
  if (!notes) return processFallback
  return storeOn(notes)
}

/**
 * The key for HMACs that must agree across the cluster (password fingerprints, familiar
 * sources) when auth_limits.ini sets none: with store=redis, one made by the first process
 * and kept in Redis (`<prefix>secret`, SET NX: every process and host gets the same),
 * fetched as soon as Redis answers; undefined until then, and with store=memory (the
 * caller then keeps its per-process key).
 */
export function sharedSecret(connection: StateHolder): Buffer | undefined {
  const holder = holderOf(connection)
  if (!holder?.redis) return undefined
  if (!holder.secret) void fetchSecret(holder)
  return holder.secret
}

/** sharedSecret, waiting (at most timeout_ms) for Redis to give it; this process's own key when it cannot. */
export async function clusterSecret(connection: StateHolder): Promise<Buffer> {
  const holder = holderOf(connection)
  if (!holder?.redis) return PROCESS_SECRET
  return holder.secret ?? (await fetchSecret(holder)) ?? PROCESS_SECRET
}

/**
 * One request for the Redis-kept secret at a time; the secret, or undefined when Redis did not
 * give it. At every (re)connection (`reseed`) the known secret is offered again with SET NX: a
 * Redis that restarted empty gets the cluster's old key back, not a new one from a new process.
 */
function fetchSecret(holder: Holder, reseed = false): Promise<Buffer | undefined> {
  const redis = holder.redis
  const cfg = settings?.cfg
  if (holder.secret && !reseed) return Promise.resolve(holder.secret)
  if (!redis?.connected() || !cfg) return Promise.resolve(undefined)
  holder.fetching ??= (async () => {
    try {
      const offer = (holder.secret ?? randomBytes(32)).toString('hex')
      const ask = redis.command(['EVAL', SECRET_SCRIPT, '1', `${cfg.prefix}secret`, offer])
      const reply = await withDeadline(ask, cfg.timeout_ms, `no answer within ${cfg.timeout_ms} ms`)
      const secret = Buffer.from(String(reply), 'hex')
      if (secret.length >= 16) holder.secret = secret
      return holder.secret
    } catch {
      return undefined
    } finally {
      holder.fetching = undefined
    }
  })()
  return holder.fetching
}

const SECRET_SCRIPT = `if redis.call('SET', KEYS[1], ARGV[1], 'NX') then return ARGV[1] end
return redis.call('GET', KEYS[1])`

/** The store's counters (bench, metrics): kind, state, batches, Redis round trips. */
export function sharedStateStats(connection: StateHolder): SharedStateStats {
  const holder = holderOf(connection)
  if (!holder?.redis) return { kind: 'memory' }
  return { kind: 'redis', ...holder.redis.store.stats(), roundTrips: holder.redis.redis.roundTrips }
}

export type SharedStateStats = { kind: 'memory' } | ({ kind: 'redis'; roundTrips: number } & ResilientStats)

/** shutdown(): close this process's Redis connection (either plugin may call it; once is enough). */
export async function closeSharedState(): Promise<void> {
  const all = [...opened]
  opened.clear()
  for (const notes of all) {
    const holder = holders.get(notes[NOTE] as StateStore)
    if (!holder) continue
    delete notes[NOTE]
    await holder.redis?.close()
  }
}

/** the server.notes this module put a store on */
const opened = new Set<Notes>()

/** What this module made each store from: a store on server.notes without one was put there by someone else. */
const holders = new WeakMap<StateStore, Holder>()

/** What this module made the store of a session's process from (undefined: not ours, or no server). */
function holderOf(connection: StateHolder): Holder | undefined {
  const notes = notesOf(connection)
  return notes ? holders.get(storeOn(notes)) : undefined
}

/**
 * The StateStore on server.notes (the note holds the store itself): made from the current
 * settings, and made again when they changed. One put there by another (a test double) is used
 * as it is.
 */
function storeOn(notes: Notes): StateStore {
  const current = notes[NOTE] as StateStore | undefined
  const s = settings
  const wanted = s ? settingsKey : ''
  if (current) {
    const made = holders.get(current)
    if (!made || made.key === wanted) return current
    void made.redis?.close()
  }
  const holder: Holder =
    s?.redis && s.cfg.store === 'redis'
      ? redisHolder(wanted, s.cfg, s.redis)
      : { key: wanted, store: counted(new MemoryStateStore({ maxKeys: s?.cfg.max_keys })) }
  holders.set(holder.store, holder)
  notes[NOTE] = holder.store
  opened.add(notes)
  return holder.store
}

function redisHolder(key: string, cfg: SharedStateConfig, conn: RedisConnection): Holder {
  const where = describeRedis(conn)
  const onChange = (change: StateChange) => {
    if (change.up) logger?.lognotice(`shared_state: ${where} answers again: the limits are shared again`)
    else
      logger?.logwarn(
        `shared_state: ${where} unavailable (${change.reason}): ${
          cfg.on_failure === 'closed'
            ? 'refusing what the limits guard (on_failure=closed)'
            : "counting in this process's memory until it returns (on_failure=open)"
        }`,
      )
  }
  const holder = { key } as Holder
  const redis = openRedisState(cfg, conn, {
    onChange,
    onReady: () => void fetchSecret(holder, true),
    onBatch: (by) => countBatch(by === 'primary' ? 'redis' : by === 'fallback' ? 'memory' : 'refused'),
    onRoundTrip: () => apply([{ kind: 'inc', name: 'haraka_shared_state_round_trips_total', labels: {} }]),
  })
  gaugeSource('haraka_shared_state_up', () => (redis.store.up ? 1 : 0))
  return Object.assign(holder, { store: redis.store, redis })
}

function countBatch(answeredBy: 'redis' | 'memory' | 'refused'): void {
  apply([{ kind: 'inc', name: 'haraka_shared_state_batches_total', labels: { answered_by: answeredBy } }])
}

/** The memory store, its batches counted (haraka_shared_state_batches_total{answered_by="memory"}). */
function counted(store: MemoryStateStore): StateStore & Pick<MemoryStateStore, 'runNow'> {
  gaugeSource('haraka_shared_state_up', () => 1)
  return {
    kind: store.kind,
    run(ops, now) {
      countBatch('memory')
      return store.run(ops, now)
    },
    runNow(ops, now) {
      countBatch('memory')
      return store.runNow(ops, now)
    },
    close: () => store.close(),
  }
}

/** For a session that has no server object (test doubles): one store per process all the same. */
const processFallback: StateStore = new MemoryStateStore()
