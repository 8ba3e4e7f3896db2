// The Redis-backed shared state of one Haraka process: our own node-redis client
// (from config/redis.ini, the file haraka-plugin-redis reads) under the resilient
// wrapper of lib/state/resilient.
//
// Why not the redis plugin's shared client (server.notes.redis): that plugin
// connects in its init_master/init_child hook and awaits the connection, so with
// Redis down at start the hook times out after plugin_timeout and Haraka shuts
// down ("init_master returned error: plugin timeout", checked on Haraka 3.3.4
// with haraka-plugin-redis 2.1.0), and server.notes.redis is only set once that
// first connection succeeds. Its client also queues commands while disconnected
// (a batch we already answered from the fallback would run on Redis later). Ours
// starts without waiting, never queues offline (disableOfflineQueue), sets no timer per
// command (the store's deadline bounds each batch), reconnects
// forever with a capped backoff, and its errors are counted, not logged per retry:
// the store logs one line per change of state.
import { createClient } from 'redis'
import type { RedisConnection, SharedStateConfig } from '../lib/state/config'
import { RedisStateStore } from '../lib/state/redis'
import { MemoryStateStore } from '../lib/state/memory'
import { ResilientStore, type ResilientOptions, type StateChange } from '../lib/state/resilient'

export interface RedisState {
  store: ResilientStore
  redis: RedisStateStore
  /** one command outside the batches (the cluster secret) */
  command(args: string[]): Promise<unknown>
  /** the connection is up now */
  connected(): boolean
  close(): Promise<void>
}

/** Reconnect delay: 50 ms doubling to 2 s, plus up to 100 ms of jitter so workers do not reconnect in step. */
export function reconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** Math.min(retries, 10), 2000) + Math.floor(Math.random() * 100)
}

export interface RedisStateEvents {
  onChange(change: StateChange): void
  /** the connection is (again) ready */
  onReady?: () => void
  onBatch?: ResilientOptions['onBatch']
  onRoundTrip?: () => void
}

export function openRedisState(
  cfg: SharedStateConfig,
  conn: RedisConnection,
  events: RedisStateEvents,
): RedisState {
  const socket = conn.path
    ? { path: conn.path, tls: false as const }
    : conn.tls
      ? { host: conn.host, port: conn.port, tls: true as const }
      : { host: conn.host, port: conn.port }
  const client = createClient({
    socket: {
      ...socket,
      connectTimeout: Math.max(1000, cfg.timeout_ms * 4),
      // Forever: a Redis that comes back later is used again without a restart.
      reconnectStrategy: (retries: number) => reconnectDelay(retries),
    },
    ...(conn.database !== undefined && { database: conn.database }),
    ...(conn.username !== undefined && { username: conn.username }),
    ...(conn.password !== undefined && { password: conn.password }),
    // While disconnected a command fails at once instead of waiting to run late.
    disableOfflineQueue: true,
    // No timer of node-redis's own per command (its default, 5 s, is an AbortSignal.timeout
    // per command: about half the client's CPU per round trip, measured): every batch already
    // has its deadline (timeout_ms, lib/state/resilient), and what a hung Redis leaves
    // unanswered is bounded there (maxPending).
    commandOptions: { timeout: 0 },
  })
  // Without a listener node-redis's 'error' event would be thrown (and stop Haraka).
  client.on('error', () => {})
  if (events.onReady) client.on('ready', events.onReady)
  let closed = false
  // With a reconnect strategy that never gives up, connect() settles only once connected.
  client.connect().catch(() => {})

  const redis = new RedisStateStore(
    { sendCommand: (args) => client.sendCommand(args) as Promise<unknown> },
    { prefix: cfg.prefix, onRoundTrip: events.onRoundTrip },
  )
  const store = new ResilientStore(redis, {
    timeoutMs: cfg.timeout_ms,
    retryMs: cfg.retry_ms,
    failure: cfg.on_failure === 'closed' ? 'closed' : 'open',
    connected: () => client.isReady,
    onChange: events.onChange,
    onBatch: events.onBatch,
    fallback: new MemoryStateStore({ maxKeys: cfg.max_keys }),
  })
  return {
    store,
    redis,
    command: (args) => client.sendCommand(args) as Promise<unknown>,
    connected: () => client.isReady,
    async close() {
      if (closed) return
      closed = true
      await store.close()
      try {
        client.destroy()
      } catch {
        // already gone
      }
    },
  }
}
