// Time bounds, in one place. A hook must answer before Haraka's plugin timeout
// (config/<plugin>.timeout, else plugin_timeout, else 30 s: Haraka then answers
// "plugin timeout" itself and a later verdict would answer a later command), so
// each hook's deadline is hookDeadlineMs, and settleWithin answers either way and
// drops what comes later. And a promise bounded in time (withDeadline): a step that
// can wait forever on a peer (a TLS handshake nobody answers, a probe, a pooled
// connection being opened) gets a deadline, and whatever it produces after the
// deadline is handed to `late` (to close a connection nobody will use) instead of
// being lost.

export class DeadlineError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DeadlineError'
  }
}

export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  message: string,
  hooks: { onTimeout?: () => void; late?: (value: T) => void } = {},
): Promise<T> {
  // No deadline (hookDeadlineMs without a plugin timeout): setTimeout would take Infinity for 1 ms.
  if (ms === Infinity) return work
  return new Promise<T>((resolve, reject) =>
    settleWithin<T>(work, ms, {
      value: resolve,
      error: reject,
      timeout() {
        try {
          hooks.onTimeout?.()
        } finally {
          reject(new DeadlineError(message))
        }
      },
      late: (settled) => {
        if ('value' in settled) hooks.late?.(settled.value)
      },
    }),
  )
}

/** Where settleWithin hands a piece of work's outcome: exactly one of value, error and timeout. */
export interface Settlement<T> {
  value(value: T): void
  error(err: unknown): void
  /** the deadline passed first */
  timeout(): void
  /** what the work gave after the deadline: never handed to value or error */
  late?(settled: { value: T } | { error: unknown }): void
}

/**
 * The deadline as callbacks, for a caller that answers either way (a hook that must
 * reply before Haraka's plugin timeout, and must drop a verdict that comes later).
 */
export function settleWithin<T>(work: Promise<T>, ms: number, on: Settlement<T>): void {
  let done = false
  // A callback that throws (a bug) is handed to `error`, and one thrown there is dropped: never an
  // unhandled rejection, which Node turns into an uncaught exception that stops Haraka.
  const guarded = (fn: () => void, fromError = false) => {
    try {
      fn()
    } catch (err) {
      if (fromError) return
      try {
        on.error(err)
      } catch {
        // nothing left to report it with
      }
    }
  }
  // Infinity: no deadline (setTimeout would take it for 1 ms)
  const timer = Number.isFinite(ms)
    ? setTimeout(() => {
        done = true
        guarded(() => on.timeout())
      }, ms)
    : undefined
  work.then(
    (value) => {
      if (done) return guarded(() => on.late?.({ value }), true)
      done = true
      clearTimeout(timer)
      guarded(() => on.value(value))
    },
    (error: unknown) => {
      if (done) return guarded(() => on.late?.({ error }), true)
      done = true
      clearTimeout(timer)
      guarded(() => on.error(error), true)
    },
  )
}

/** The part of a Haraka plugin timeout kept free for our own reply to reach the client first. */
export function pluginMarginMs(pluginTimeoutMs: number): number {
  return Math.min(2000, pluginTimeoutMs / 4)
}

/**
 * Milliseconds a hook may work before it answers by itself: `wantedMs`, never beyond
 * the plugin timeout less the margin. A plugin timeout of 0 (or none) means Haraka
 * never times the hook out: then `wantedMs` (Infinity: no deadline of ours either).
 */
export function hookDeadlineMs(wantedMs: number, pluginTimeoutS: number | undefined): number {
  const pluginMs = (Number(pluginTimeoutS) || 0) * 1000
  if (pluginMs <= 0) return wantedMs
  return Math.max(1, Math.min(wantedMs, Math.floor(pluginMs - pluginMarginMs(pluginMs))))
}
