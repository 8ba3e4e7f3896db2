// A shared store that never makes AUTH wait on it for long: each batch goes to the
// primary (Redis) within a bound; when the primary is not connected, fails or does
// not answer in time, the batch is answered by this process's own memory store
// (fail open, the default) or rejected with StateUnavailableError (fail closed).
//
// A small state machine, so a Redis that is down or hung costs little and is logged
// once per change:
//   up    every batch goes to the primary, within timeoutMs.
//   down  batches go straight to the fallback (no wait), except one probe at a time:
//         the next batch after retryMs, or at once when the connection is back. A probe
//         that answers in time brings the store up (its answers are used).
// The change up -> down and down -> up is reported once through onChange.
// The fallback starts empty and is per process: what was counted there during an
// outage is not carried into the primary when it returns (the windows are short).
import { withDeadline } from '../deadline'
import { MemoryStateStore } from './memory'
import { StateUnavailableError, type StateAnswer, type StateOp, type StateStore } from './store'

export type FailureMode = 'open' | 'closed'

export interface ResilientOptions {
  /** most milliseconds a batch waits for the primary */
  timeoutMs: number
  /** while down, milliseconds between probes of the primary */
  retryMs: number
  failure: FailureMode
  /** whether the primary's connection is up now (false: no batch waits for it) */
  connected?: () => boolean
  /** told once per change of state, with the reason for going down */
  onChange?: (change: StateChange) => void
  fallback?: MemoryStateStore
  /** told of every batch: who answered it (metrics) */
  onBatch?: (answeredBy: 'primary' | 'fallback' | 'refused') => void
  /** for the probe timing (tests); default Date.now */
  clock?: () => number
  /**
   * Most batches sent to the primary and not yet answered (past their deadline included: a
   * hung primary keeps them); beyond it no batch is sent, not even a probe, until some are
   * answered or fail. Default 1000.
   */
  maxPending?: number
}

export type StateChange = { up: true } | { up: false; reason: string }

export interface ResilientStats {
  state: 'starting' | 'up' | 'down'
  /** batches answered by the primary */
  primary: number
  /** batches answered by the fallback (or refused, when failing closed) */
  degraded: number
  /** batches the primary failed or did not answer in time */
  failures: number
}

export class ResilientStore implements StateStore {
  readonly kind = 'redis' as const
  private state: ResilientStats['state'] = 'starting'
  private probing = false
  private nextProbeAt = 0
  /** down because the connection was not up: a probe goes as soon as it is */
  private disconnected = false
  private readonly fallback: MemoryStateStore
  private readonly clock: () => number
  private readonly counts = { primary: 0, degraded: 0, failures: 0 }
  /** batches sent to the primary that it has not answered (or failed) yet */
  private pending = 0
  /** the primary is raced against timeoutMs and the fallback answers at once */
  readonly boundMs: number

  constructor(
    readonly primary: StateStore,
    private readonly opts: ResilientOptions,
  ) {
    this.boundMs = opts.timeoutMs
    this.fallback = opts.fallback ?? new MemoryStateStore()
    this.clock = opts.clock ?? Date.now
  }

  /** the primary answers (false while down, and before its first answer when that was a failure) */
  get up(): boolean {
    return this.state !== 'down'
  }

  stats(): ResilientStats {
    return { state: this.state, ...this.counts }
  }

  async run(ops: readonly StateOp[], now: number): Promise<StateAnswer[]> {
    const connected = this.opts.connected?.() ?? true
    if (!connected) return this.degrade(ops, now, { reason: 'not connected', disconnected: true })
    if (this.pending >= (this.opts.maxPending ?? 1000))
      return this.degrade(ops, now, { reason: `${this.pending} batches unanswered`, disconnected: false })
    if (this.state === 'down') {
      const due = this.disconnected || this.clock() >= this.nextProbeAt
      if (this.probing || !due) return this.degrade(ops, now)
      this.probing = true
    }
    try {
      const sent = this.primary.run(ops, now)
      this.pending++
      sent.then(
        () => this.pending--,
        () => this.pending--,
      )
      const answers = await withDeadline(
        sent,
        this.opts.timeoutMs,
        `no answer within ${this.opts.timeoutMs} ms`,
      )
      this.counts.primary++
      this.opts.onBatch?.('primary')
      this.changeTo('up')
      return answers
    } catch (err) {
      this.counts.failures++
      const reason = err instanceof Error ? err.message : String(err)
      return this.degrade(ops, now, { reason, disconnected: false })
    } finally {
      this.probing = false
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.primary.close(), this.fallback.close()])
  }

  /** The batch without the primary; `failure` when the primary just failed (else it was not tried: down). */
  private degrade(
    ops: readonly StateOp[],
    now: number,
    failure?: { reason: string; disconnected: boolean },
  ): StateAnswer[] {
    if (failure) {
      this.disconnected = failure.disconnected
      this.nextProbeAt = this.clock() + this.opts.retryMs
      this.changeTo('down', failure.reason)
    }
    this.counts.degraded++
    this.opts.onBatch?.(this.opts.failure === 'closed' ? 'refused' : 'fallback')
    if (this.opts.failure === 'closed')
      throw new StateUnavailableError(`the shared store is unavailable (${failure?.reason ?? 'down'})`)
    return this.fallback.runNow(ops, now)
  }

  private changeTo(state: 'up' | 'down', reason = ''): void {
    const was = this.state
    this.state = state
    if (was === state) return
    // The first connection at start is not news; a failure before it is.
    if (state === 'up' && was === 'starting') return
    this.opts.onChange?.(state === 'up' ? { up: true } : { up: false, reason })
  }
}
