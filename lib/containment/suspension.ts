// A suspended login relays nothing until an operator releases it. The record
// lives in the shared state (lib/state), so a suspension made on one Haraka
// process, by the containment rules, the AUTH limiter's trigger or the CLI,
// holds on every process sharing the store. These are the batches; callers run them.
import type { StateAnswer, StateOp } from '../state/store'

/** Who or what suspended the login, and why (one of the documented rules). */
export interface Suspension {
  login: string
  /** Date.now() of the suspension */
  since: number
  /** the rule that suspended it, e.g. `recipients_per_day`, `unfamiliar_after_failures`, `operator` */
  rule: string
  /** words for the operator: counts and limits, never client text that was not made safe */
  reason: string
}

/** Suspensions outlive any window but not forever: a forgotten one expires after a year. */
export const SUSPENSION_TTL_MS = 365 * 24 * 3600 * 1000

export const SUSPENDED_LISTING = 'contain:suspended'

export function suspensionKey(login: string): string {
  return `contain:susp:${login}`
}

export function suspendOps(s: Suspension): StateOp[] {
  return [
    { op: 'set', key: suspensionKey(s.login), value: JSON.stringify(s), ttlMs: SUSPENSION_TTL_MS },
    { op: 'index', key: SUSPENDED_LISTING, member: s.login, ttlMs: SUSPENSION_TTL_MS },
  ]
}

export function releaseOps(login: string): StateOp[] {
  return [
    { op: 'del', key: suspensionKey(login) },
    { op: 'unindex', key: SUSPENDED_LISTING, member: login },
  ]
}

export function readSuspensionOp(login: string): StateOp {
  return { op: 'get', key: suspensionKey(login) }
}

/** The answer of readSuspensionOp: the suspension in force, or undefined. A damaged record still suspends. */
export function parseSuspension(login: string, answer: StateAnswer): Suspension | undefined {
  if (typeof answer !== 'string') return undefined
  try {
    const s = JSON.parse(answer) as Partial<Suspension>
    return {
      login,
      since: typeof s.since === 'number' ? s.since : 0,
      rule: typeof s.rule === 'string' ? s.rule : 'unknown',
      reason: typeof s.reason === 'string' ? s.reason : '',
    }
  } catch {
    return { login, since: 0, rule: 'unknown', reason: 'unreadable suspension record' }
  }
}
