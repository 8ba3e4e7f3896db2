// Containment's batches on the shared state (haraka/shared_state), for the
// session hooks (contain.ts) and outbound's bounce hook (bounce.ts): each one
// bounded in time, and what a crossed budget writes and decides.
import { hookDeadlineMs } from '../../lib/deadline'
import { judgeCounts, type Counting, type Crossing } from '../../lib/containment/budgets'
import type { Budget } from '../../lib/containment/config'
import { crossingDecision, type ContainDecision } from '../../lib/containment/decide'
import { runWithin, type StateAnswer, type StateStore } from '../../lib/state/store'
import type { AuthRelay } from './state'

/** A batch of ours waits at most this long (and never past the hook's own deadline). */
export const STATE_DEADLINE_MS = 3000

export function runBatch(plugin: AuthRelay, store: StateStore, ops: Counting['ops']): Promise<StateAnswer[]> {
  if (!ops.length) return Promise.resolve([])
  return runWithin(store, ops, hookDeadlineMs(STATE_DEADLINE_MS, plugin.timeout))
}

export const why = (err: unknown) => (err as Error)?.message ?? String(err)

/**
 * A login's budgets after a count: when one is crossed, the deferral or suspension
 * is written (enforce mode only) and its decision answered; else undefined.
 */
export async function applyCrossing(
  plugin: AuthRelay,
  store: StateStore,
  login: string,
  counts: ReadonlyMap<Budget, number>,
  who: string,
  keys: (crossing: Crossing) => string,
): Promise<ContainDecision | undefined> {
  const cfg = plugin.cfg.contain
  const crossing = judgeCounts(login, counts, cfg, Date.now())
  if (!crossing) return undefined
  if (cfg.mode === 'enforce') await runBatch(plugin, store, crossing.ops)
  return crossingDecision(who, crossing, cfg, keys(crossing))
}
