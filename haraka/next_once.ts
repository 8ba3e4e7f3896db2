// An async hook must call next() exactly once, whatever throws on the way. Haraka
// does not catch a rejected promise of an async hook body: the rejection is
// unhandled, Node (15 and later) turns it into an uncaught exception and Haraka exits.
import type { Next } from 'haraka'

export interface OnceNext extends Next {
  /** whether next() was called already */
  readonly called: boolean
}

/** `next`, called at most once: later calls are ignored. */
export function nextOnce(next: Next): OnceNext {
  // a plain property, set before next() runs (a getter defined per call costs more than the hook's own work)
  const once = ((...args: Parameters<Next>): void => {
    if (once.called) return
    once.called = true
    next(...args)
  }) as { called: boolean } & ((...args: Parameters<Next>) => void)
  once.called = false
  return once as OnceNext
}

/**
 * The end of an async hook's chain: whatever is still thrown (a bug in a
 * handler, in the results bookkeeping, in next itself) is logged at error, and
 * next(...fallback) is called only if the hook has not answered yet. The chain
 * never ends in an unhandled rejection, even when logging or next() throws.
 */
export function endChain(
  chain: Promise<unknown>,
  next: OnceNext,
  logError: (msg: string) => void,
  ...fallback: Parameters<Next>
): void {
  endChainOr(chain, next, logError, () => fallback)
}

/**
 * endChain with the fallback made only when it is needed (a DSN object costs more
 * than most hooks' own work, and a chain that ends well never needs it).
 */
export function endChainOr(
  chain: Promise<unknown>,
  next: OnceNext,
  logError: (msg: string) => void,
  fallback: () => Parameters<Next>,
): void {
  chain.catch((err: unknown) => {
    try {
      logError(`internal error: ${(err as Error)?.stack ?? String(err)}`)
    } catch {
      // nothing left to report it with
    }
    if (next.called) return
    try {
      next(...fallback())
    } catch {
      // next() marked itself called; Haraka's own next does not throw
    }
  })
}
