// The per-process StateStore: one Haraka process, the demo, and the fallback
// while a shared store is unreachable. Bounded: past maxKeys, expired keys are
// swept, then the least recently written counters go first, then any other key.
// Synchronous underneath, so every batch is atomic as the interface promises.
import { bucketOf, firstLiveBucket, type StateAnswer, type StateOp, type StateStore } from './store'

type Entry =
  | { kind: 'window'; members: Map<string, number>; expires: number }
  | { kind: 'sum'; buckets: Map<number, number>; expires: number }
  | { kind: 'value'; value: string; expires: number }
  | { kind: 'listing'; members: Map<string, number>; expires: number }

export interface MemoryStoreOptions {
  /** most keys kept (default 100 000) */
  maxKeys?: number
}

/** How often, at most, a full store looks for expired keys to drop. */
const SWEEP_EVERY_MS = 1000

export class MemoryStateStore implements StateStore {
  readonly kind = 'memory' as const
  private readonly entries = new Map<string, Entry>()
  private readonly maxKeys: number
  private lastSweep = -Infinity

  constructor(opts: MemoryStoreOptions = {}) {
    this.maxKeys = opts.maxKeys ?? 100_000
  }

  get size(): number {
    return this.entries.size
  }

  async run(ops: readonly StateOp[], now: number): Promise<StateAnswer[]> {
    return this.runNow(ops, now)
  }

  /** The same batch, synchronously (the memory store never waits). */
  runNow(ops: readonly StateOp[], now: number): StateAnswer[] {
    const answers = ops.map((op) => this.apply(op, now))
    this.bound(now)
    return answers
  }

  async close(): Promise<void> {
    this.entries.clear()
  }

  private live(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key)
    if (e && e.expires <= now) {
      this.entries.delete(key)
      return undefined
    }
    return e
  }

  /** Write an entry as the most recent (Map order is the eviction order). */
  private put(key: string, e: Entry): void {
    this.entries.delete(key)
    this.entries.set(key, e)
  }

  private window(key: string, now: number, windowMs: number): Map<string, number> | undefined {
    const e = this.live(key, now)
    if (!e || e.kind !== 'window') return undefined
    for (const [m, at] of e.members) if (at <= now - windowMs) e.members.delete(m)
    return e.members
  }

  private sum(key: string, now: number, windowMs: number): number {
    const e = this.live(key, now)
    if (!e || e.kind !== 'sum') return 0
    const first = firstLiveBucket(now, windowMs)
    let total = 0
    for (const [b, n] of e.buckets) {
      if (b < first) e.buckets.delete(b)
      else total += n
    }
    return total
  }

  private apply(op: StateOp, now: number): StateAnswer {
    switch (op.op) {
      case 'hit': {
        const members = this.window(op.key, now, op.windowMs) ?? new Map<string, number>()
        members.delete(op.member)
        members.set(op.member, now)
        // Keep the newest `cap`: a count past the cap is not needed to decide.
        while (members.size > op.cap) members.delete(members.keys().next().value as string)
        this.put(op.key, { kind: 'window', members, expires: now + op.windowMs })
        return members.size
      }
      case 'count':
        return this.window(op.key, now, op.windowMs)?.size ?? 0
      case 'seen':
        return this.window(op.key, now, op.windowMs)?.has(op.member) ? 1 : 0
      case 'at':
        return this.window(op.key, now, op.windowMs)?.get(op.member) ?? 0
      case 'add': {
        const total = this.sum(op.key, now, op.windowMs) + op.by
        const e = this.live(op.key, now)
        const buckets = e?.kind === 'sum' ? e.buckets : new Map<number, number>()
        const b = bucketOf(now, op.windowMs)
        buckets.set(b, (buckets.get(b) ?? 0) + op.by)
        this.put(op.key, { kind: 'sum', buckets, expires: now + op.windowMs })
        return total
      }
      case 'sum':
        return this.sum(op.key, now, op.windowMs)
      case 'get': {
        const e = this.live(op.key, now)
        return e?.kind === 'value' ? e.value : null
      }
      case 'set':
        this.put(op.key, { kind: 'value', value: op.value, expires: now + op.ttlMs })
        return null
      case 'incr': {
        const e = this.live(op.key, now)
        const n = e?.kind === 'value' ? Number(e.value) + 1 : 1
        const expires = e?.kind === 'value' ? e.expires : now + op.ttlMs
        this.put(op.key, { kind: 'value', value: String(n), expires })
        return n
      }
      case 'del':
        this.entries.delete(op.key)
        return null
      case 'ttl': {
        const e = this.live(op.key, now)
        return e ? e.expires - now : -2
      }
      case 'index': {
        const e = this.live(op.key, now)
        const members = e?.kind === 'listing' ? e.members : new Map<string, number>()
        members.set(op.member, now + op.ttlMs)
        const expires = Math.max(e?.expires ?? 0, now + op.ttlMs)
        this.put(op.key, { kind: 'listing', members, expires })
        return null
      }
      case 'unindex': {
        const e = this.live(op.key, now)
        if (e?.kind === 'listing') e.members.delete(op.member)
        return null
      }
      case 'members': {
        const e = this.live(op.key, now)
        if (e?.kind !== 'listing') return []
        for (const [m, until] of e.members) if (until <= now) e.members.delete(m)
        return [...e.members.keys()]
      }
      case 'expiries': {
        const e = this.live(op.key, now)
        if (e?.kind !== 'listing') return []
        const flat: string[] = []
        for (const [m, until] of e.members) if (until > now) flat.push(m, String(until))
        return flat
      }
    }
  }

  private bound(now: number): void {
    if (this.entries.size <= this.maxKeys) return
    // Expired keys are swept at most once a second: at capacity every new key comes here, and a
    // scan of all of them per batch would be a cost an attacker could set (expired keys are
    // invisible to reads meanwhile, and go first at the next sweep).
    if (now - this.lastSweep >= SWEEP_EVERY_MS) {
      this.lastSweep = now
      for (const [k, e] of this.entries) if (e.expires <= now) this.entries.delete(k)
    }
    // Counters (windows, sums) first: a flood of new counters must not push out the records
    // written once and then only read (a ban, a suspension, a listing), lifting them.
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxKeys) return
      if (e.kind === 'window' || e.kind === 'sum') this.entries.delete(k)
    }
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.maxKeys) break
      this.entries.delete(k)
    }
  }
}
