// Containment as a pure policy over the shared state (lib/state): the batches
// that count what a login relays, and the judgement of the counts they answer.
// At MAIL FROM one batch reads whether the login is suspended or deferred
// (gateOps); at each accepted RCPT one batch counts it in every budget and
// answers the counts (acceptedRcpt); a recipient refused by our checks or
// bounced by the far side is counted the same way (refusedRecipients). Only a
// crossing costs a second batch: the deferral or the suspension it records.
import { createHash } from 'node:crypto'
import type { StateAnswer, StateOp } from '../state/store'
import { parseSuspension, readSuspensionOp, suspendOps, type Suspension } from './suspension'
import { BUDGETS, BUDGET_DEFS, type Budget, type ContainConfig } from './config'

/** The login as containment keys it: trimmed, NFC, lower-cased (one key however the client cased it). */
export function containLogin(login: string): string {
  return login.trim().normalize('NFC').toLowerCase()
}

export function counterKey(budget: Budget, login: string): string {
  return `contain:n:${budget}:${login}`
}

export function deferKey(login: string): string {
  return `contain:defer:${login}`
}

/** A login deferred for the window of the budget it crossed: 451 4.7.1 until `until`. */
export interface Deferral {
  login: string
  since: number
  until: number
  rule: Budget
  reason: string
}

export type Gate =
  { kind: 'clear' } | { kind: 'suspended'; suspension: Suspension } | { kind: 'deferred'; deferral: Deferral }

/** MAIL FROM: one batch, read by readGate. */
export function gateOps(login: string): StateOp[] {
  return [readSuspensionOp(login), { op: 'get', key: deferKey(login) }]
}

export function readGate(login: string, answers: readonly StateAnswer[]): Gate {
  const suspension = parseSuspension(login, answers[0] ?? null)
  if (suspension) return { kind: 'suspended', suspension }
  const deferral = parseDeferral(login, answers[1] ?? null)
  return deferral ? { kind: 'deferred', deferral } : { kind: 'clear' }
}

function parseDeferral(login: string, answer: StateAnswer): Deferral | undefined {
  if (typeof answer !== 'string') return undefined
  try {
    const d = JSON.parse(answer) as Partial<Deferral>
    const rule = BUDGETS.includes(d.rule as Budget) ? (d.rule as Budget) : 'messages_per_minute'
    return {
      login,
      since: typeof d.since === 'number' ? d.since : 0,
      until: typeof d.until === 'number' ? d.until : 0,
      rule,
      reason: typeof d.reason === 'string' ? d.reason : '',
    }
  } catch {
    // A damaged record still defers (it expires with its key).
    return { login, since: 0, until: 0, rule: 'messages_per_minute', reason: 'unreadable deferral record' }
  }
}

/** A batch that counts, and how to read the counts it answers. */
export interface Counting {
  ops: StateOp[]
  read(answers: readonly StateAnswer[]): Map<Budget, number>
}

export interface AcceptedRcpt {
  /** the first accepted recipient of its message: the message counts now */
  firstOfMessage: boolean
  /** outside our local domains (lib/relay's classification) */
  external: boolean
  /** canonical address and domain */
  address: string
  domain: string
}

/** A recipient is never kept as written: a short hash tells two apart, and nothing more. */
export function recipientMember(address: string): string {
  return createHash('sha256').update(address).digest('base64url').slice(0, 16)
}

function counting(steps: Array<[Budget, StateOp]>): Counting {
  return {
    ops: steps.map(([, op]) => op),
    read(answers) {
      const counts = new Map<Budget, number>()
      steps.forEach(([budget], i) => counts.set(budget, Number(answers[i] ?? 0)))
      return counts
    },
  }
}

/** One accepted RCPT of an authenticated login: every budget it touches, counted and answered in one batch. */
export function acceptedRcpt(login: string, rcpt: AcceptedRcpt, cfg: ContainConfig): Counting {
  const steps: Array<[Budget, StateOp]> = []
  const on = (b: Budget) => cfg.limits.has(b)
  const add = (b: Budget) => {
    if (on(b))
      steps.push([b, { op: 'add', key: counterKey(b, login), by: 1, windowMs: BUDGET_DEFS[b].windowMs }])
  }
  const hit = (b: Budget, member: string) => {
    if (!on(b)) return
    const cap = cfg.limits.get(b)! + 1 // past limit+1 the count is not needed to decide
    steps.push([b, { op: 'hit', key: counterKey(b, login), member, windowMs: BUDGET_DEFS[b].windowMs, cap }])
  }
  if (rcpt.firstOfMessage) {
    add('messages_per_minute')
    add('messages_per_day')
  }
  add('recipients_per_day')
  if (rcpt.external) {
    hit('external_recipients_per_day', recipientMember(rcpt.address))
    hit('external_domains_per_day', rcpt.domain)
  }
  return counting(steps)
}

/** `n` recipients of the login refused: by our own RCPT checks, or bounced by the far side. */
export function refusedRecipients(login: string, n: number, cfg: ContainConfig): Counting {
  const b: Budget = 'refused_recipients_per_day'
  if (!cfg.limits.has(b) || n <= 0) return counting([])
  return counting([[b, { op: 'add', key: counterKey(b, login), by: n, windowMs: BUDGET_DEFS[b].windowMs }]])
}

export type Crossing = {
  budget: Budget
  count: number
  limit: number
  action: 'defer' | 'suspend'
  /** for the log, the record and the operator: counts and limits only */
  reason: string
  /** the batch that records the deferral or the suspension */
  ops: StateOp[]
}

/**
 * The counts after a batch: within every budget (undefined), or the budget
 * crossed (over its limit) and what to do. When several are crossed, one
 * that suspends wins, then the first in BUDGETS order.
 */
export function judgeCounts(
  login: string,
  counts: ReadonlyMap<Budget, number>,
  cfg: ContainConfig,
  now: number,
): Crossing | undefined {
  const crossed = BUDGETS.filter((b) => {
    const limit = cfg.limits.get(b)
    return limit !== undefined && (counts.get(b) ?? 0) > limit
  })
  const budget = crossed.find((b) => cfg.suspendOn.has(b)) ?? crossed[0]
  if (!budget) return undefined
  const limit = cfg.limits.get(budget)!
  const count = counts.get(budget)!
  const def = BUDGET_DEFS[budget]
  const reason = `${budget}: ${count} ${def.counts} in ${def.window}, limit ${limit}`
  if (cfg.suspendOn.has(budget)) {
    const ops = suspendOps({ login, since: now, rule: budget, reason })
    return { budget, count, limit, action: 'suspend', reason, ops }
  }
  const deferral: Deferral = { login, since: now, until: now + def.windowMs, rule: budget, reason }
  const ops: StateOp[] = [
    { op: 'set', key: deferKey(login), value: JSON.stringify(deferral), ttlMs: def.windowMs },
  ]
  return { budget, count, limit, action: 'defer', reason, ops }
}

/** The counts of a login in every budget, without changing them (for `limits show` and tests). */
export function readCounts(login: string, cfg: ContainConfig): Counting {
  return counting(
    [...cfg.limits.keys()].map((b): [Budget, StateOp] => {
      const { windowMs } = BUDGET_DEFS[b]
      const key = counterKey(b, login)
      const hits = b === 'external_recipients_per_day' || b === 'external_domains_per_day'
      return [b, hits ? { op: 'count', key, windowMs } : { op: 'sum', key, windowMs }]
    }),
  )
}

/**
 * The operator's release: the suspension and the deferral go, and so do the
 * login's counts, or its next recipient would cross the same budget again.
 */
export function releaseAllOps(login: string): StateOp[] {
  return [
    { op: 'del', key: deferKey(login) },
    ...BUDGETS.map((b): StateOp => ({ op: 'del', key: counterKey(b, login) })),
  ]
}
