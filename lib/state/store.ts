// Shared state for the abuse limits (AUTH limiter, containment): a small set of
// operations on expiring keys, run as one atomic batch per call, so that a store
// shared by a cluster (Redis, one Lua script per batch) and the per-process one
// (memory, below) behave alike and a caller knows its round trips: one per run().
// Policies build the batches and read the answers; they never see the store's kind.
import { withDeadline } from '../deadline'

/** One operation. Times come from the caller's clock (run's `now`), in milliseconds. */
export type StateOp =
  /** a distinct member seen now, in a sliding window (the same member again only refreshes it); answers the members in the window */
  | { op: 'hit'; key: string; member: string; windowMs: number; cap: number }
  /** the distinct members in the window (no change but dropping older ones) */
  | { op: 'count'; key: string; windowMs: number }
  /** whether a member is in the window: 1 or 0 */
  | { op: 'seen'; key: string; member: string; windowMs: number }
  /** when a member was last seen, if that is inside the window: its time, else 0 */
  | { op: 'at'; key: string; member: string; windowMs: number }
  /** add `by` to a windowed sum (sixty buckets over the window); answers the sum */
  | { op: 'add'; key: string; by: number; windowMs: number }
  /** the windowed sum */
  | { op: 'sum'; key: string; windowMs: number }
  /** a plain value, or null */
  | { op: 'get'; key: string }
  /** a plain value for ttlMs */
  | { op: 'set'; key: string; value: string; ttlMs: number }
  /** add 1 to a plain counter that lives ttlMs from its first increment; answers the count */
  | { op: 'incr'; key: string; ttlMs: number }
  /** remove a key of any kind */
  | { op: 'del'; key: string }
  /** milliseconds a key has left: -2 absent */
  | { op: 'ttl'; key: string }
  /** a member of a listing (e.g. the bans in force), expiring on its own after ttlMs */
  | { op: 'index'; key: string; member: string; ttlMs: number }
  | { op: 'unindex'; key: string; member: string }
  /** the listing's live members */
  | { op: 'members'; key: string }
  /** the listing's live members with their expiry times, flat: [member, until, member, until, ...] */
  | { op: 'expiries'; key: string }

export type StateAnswer = number | string | null | string[]

export interface StateStore {
  readonly kind: 'memory' | 'redis'
  /** Run the operations in order, atomically, in one round trip; one answer per operation. */
  run(ops: readonly StateOp[], now: number): Promise<StateAnswer[]>
  /** The same batch answered synchronously, by a store that never waits (memory): no deadline needed. */
  runNow?(ops: readonly StateOp[], now: number): StateAnswer[]
  /** Most milliseconds run() ever takes (it answers by then on its own): no outer deadline within it. */
  readonly boundMs?: number
  close(): Promise<void>
}

/** The buckets of a windowed sum: its resolution is 1/60 of the window. */
export const SUM_BUCKETS = 60

export function bucketOf(now: number, windowMs: number): number {
  return Math.floor(now / Math.max(1, Math.ceil(windowMs / SUM_BUCKETS)))
}

/** The oldest bucket still inside the window ending now. */
export function firstLiveBucket(now: number, windowMs: number): number {
  return bucketOf(now, windowMs) - SUM_BUCKETS + 1
}

/**
 * A shared store that cannot answer and is configured to fail closed (shared_state.ini
 * on_failure=closed): run() rejects with this, and the caller refuses what it guards.
 */
export class StateUnavailableError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StateUnavailableError'
  }
}

/**
 * One batch within `ms`: a store that never waits (memory) answers at once, with no
 * deadline to race it (a timer and two promises per batch), as does one that bounds
 * itself within `ms` (resilient); any other is bounded here.
 */
export function runWithin(
  store: StateStore,
  ops: readonly StateOp[],
  ms: number,
  now = Date.now(),
): Promise<StateAnswer[]> {
  if (store.runNow) {
    try {
      return Promise.resolve(store.runNow(ops, now))
    } catch (err) {
      return Promise.reject(err)
    }
  }
  if (store.boundMs !== undefined && store.boundMs <= ms) return store.run(ops, now)
  const bound = Math.max(1, ms)
  return withDeadline(store.run(ops, now), bound, `the ${store.kind} store gave no answer within ${bound} ms`)
}
