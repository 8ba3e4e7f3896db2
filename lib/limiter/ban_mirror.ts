// A per-process copy of the address and subnet bans in force, so the connect
// check (421 4.7.0 before any TLS work) answers from memory instead of a round
// trip to a shared store per connection. It reads the store's listing of bans
// (BAN_LISTING, each ban with its expiry) again only when the listing's version
// (BAN_VERSION, rewritten with every ban) changed: one small batch per refresh,
// two when there is something new. Refreshed every intervalMs by a timer of its
// own while the connect check uses it (use()); idle for IDLE_MS (10 s), the timer stops and
// the next use starts it again (that one connection asks the store itself). A ban
// this process writes is noted at once.
//
// What it costs in enforcement: a ban earned on another process is refused at
// connect here at most one refresh later (intervalMs plus the batch's round trip);
// the AUTH gate still reads the store itself, so at AUTH it holds at once. A copy
// older than staleMs (the store slow or down, or not read yet) answers nothing:
// the caller then asks the store directly, as it would without the copy.
import type { StateAnswer, StateOp } from '../state/store'
import { BAN_LISTING, BAN_VERSION, banKeyOf } from './keys'

/** The bans the connect check refuses: an address's and a subnet's (a pair ban waits for AUTH). */
const CONNECT_BANS = [banKeyOf('ip', ''), banKeyOf('subnet', '')]

/** unused this long, the refreshes stop until the next use */
const IDLE_MS = 10_000

export interface BanMirrorOptions {
  /** one batch on the shared store */
  run(ops: readonly StateOp[], now: number): Promise<StateAnswer[]>
  /** milliseconds between refreshes */
  intervalMs: number
  /** a copy older than this answers nothing (fresh() false) */
  staleMs: number
  clock?: () => number
}

export class BanMirror {
  /** ban key -> Date.now() until which it holds */
  private bans = new Map<string, number>()
  /** the version the copy was read at; undefined: never read */
  private version: StateAnswer | undefined = undefined
  /** when the store answered for the copy (the time its batch was sent) */
  private readAt = -Infinity
  /** bans noted by this process, with when: kept over a refresh that was sent before them */
  private noted = new Map<string, { until: number; at: number }>()
  private inFlight?: Promise<void>
  private timer?: ReturnType<typeof setInterval>
  private lastUse = -Infinity
  private readonly clock: () => number
  /** refreshes run, and how many read the listing again (tests, bench) */
  readonly counts = { refreshes: 0, reads: 0, failures: 0 }

  constructor(private readonly opts: BanMirrorOptions) {
    this.clock = opts.clock ?? Date.now
  }

  /** Refresh every intervalMs from now on, until idle or stop() (the timer never keeps the process up). */
  start(): void {
    if (this.timer) return
    void this.refresh()
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs)
    this.timer.unref?.()
  }

  /** whether the timer runs */
  get running(): boolean {
    return this.timer !== undefined
  }

  /** The connect check is about to answer from the copy: fresh() now, and the refreshes (re)started. */
  use(now = this.clock()): boolean {
    this.lastUse = now
    if (!this.timer) this.start()
    return this.fresh(now)
  }

  /** One timer tick: refresh, or stop when nobody used the copy for IDLE_MS. */
  tick(): void {
    if (this.clock() - this.lastUse > IDLE_MS) return this.stop()
    void this.refresh()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  /** whether the copy is recent enough to answer from */
  fresh(now = this.clock()): boolean {
    return now - this.readAt <= this.opts.staleMs
  }

  /** Until when `key` is banned (0: not), as the copy knows it. */
  until(key: string, now = this.clock()): number {
    const until = this.bans.get(key) ?? 0
    return until > now ? until : 0
  }

  /** the address and subnet bans in force, as the copy knows them */
  active(now = this.clock()): number {
    let n = 0
    for (const until of this.bans.values()) if (until > now) n++
    return n
  }

  /** A ban this process just wrote: known here at once. */
  note(key: string, until: number): void {
    if (!CONNECT_BANS.some((p) => key.startsWith(p))) return
    this.bans.set(key, Math.max(until, this.bans.get(key) ?? 0))
    this.noted.set(key, { until, at: this.clock() })
  }

  /** One refresh (one at a time: a call while one runs waits for that one). */
  refresh(): Promise<void> {
    this.inFlight ??= this.read().finally(() => (this.inFlight = undefined))
    return this.inFlight
  }

  private async read(): Promise<void> {
    const sent = this.clock()
    this.counts.refreshes++
    try {
      const [version] = await this.opts.run([{ op: 'get', key: BAN_VERSION }], sent)
      if (this.version !== undefined && version === this.version) {
        this.readAt = sent
        return
      }
      const again = this.clock()
      this.counts.reads++
      const [v, flat] = await this.opts.run(
        [
          { op: 'get', key: BAN_VERSION },
          { op: 'expiries', key: BAN_LISTING },
        ],
        again,
      )
      const bans = new Map<string, number>()
      const list = Array.isArray(flat) ? flat : []
      for (let i = 0; i + 1 < list.length; i += 2) {
        const key = list[i]!
        if (CONNECT_BANS.some((p) => key.startsWith(p))) bans.set(key, Number(list[i + 1]))
      }
      // A ban noted after this batch was sent may be missing from its answer: kept.
      for (const [key, n] of this.noted) {
        if (n.at >= again && n.until > (bans.get(key) ?? 0)) bans.set(key, n.until)
        else this.noted.delete(key)
      }
      this.bans = bans
      this.version = v
      this.readAt = sent
    } catch {
      // The store failed or refused: the copy grows stale and the caller asks the store itself.
      this.counts.failures++
    }
  }
}
