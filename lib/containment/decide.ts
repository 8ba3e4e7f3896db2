// Containment's decisions (rule `contain`), as values for haraka/record: a
// suspended or deferred login at MAIL FROM, a budget crossed at RCPT, and the
// shared state out of reach. In observe mode the same decisions are recorded
// without a reply (nothing is refused).
import type { Decision } from '../decisions'
import { containDeferredReply, containSuspendedReply, REPLIES, type Reply } from '../replies'
import type { Crossing, Gate } from './budgets'
import type { Budget, ContainConfig } from './config'

export type ContainReason = 'suspended' | 'deferred' | Budget | 'state_unavailable'

export type ContainDecision = Decision<'contain'>

function decision(reason: ContainReason, reply: Reply | undefined, detail: string): ContainDecision {
  return {
    plugin: 'auth_relay',
    rule: 'contain',
    verdict: 'fail',
    reason,
    detail,
    ...(reply ? { reply } : {}),
  }
}

const enforced = (cfg: ContainConfig, reply: Reply) => (cfg.mode === 'enforce' ? reply : undefined)

const when = (ms: number) => new Date(ms).toISOString()

/** MAIL FROM of a suspended or deferred login; undefined when it may send. */
export function gateDecision(who: string, gate: Gate, cfg: ContainConfig): ContainDecision | undefined {
  if (gate.kind === 'clear') return undefined
  const refused = cfg.mode === 'enforce' ? 'refused' : 'would be refused (containment=observe)'
  if (gate.kind === 'suspended') {
    const s = gate.suspension
    const detail = `MAIL ${refused} for ${who}: suspended since ${when(s.since)} by ${s.rule}: ${s.reason}`
    return decision('suspended', enforced(cfg, containSuspendedReply(s.rule)), detail)
  }
  const d = gate.deferral
  const detail = `MAIL ${refused} for ${who}: deferred until ${when(d.until)} by ${d.rule}: ${d.reason}`
  return decision('deferred', enforced(cfg, containDeferredReply(d.rule)), detail)
}

/** A budget crossed by `who` (at RCPT, or by a bounce): the budget's label, the reply when enforced. */
export function crossingDecision(
  who: string,
  c: Crossing,
  cfg: ContainConfig,
  keys: string,
): ContainDecision {
  const observe = cfg.mode === 'observe' ? ' (containment=observe: not applied)' : ''
  const action = c.action === 'suspend' ? 'suspended' : 'deferred'
  const reply = c.action === 'suspend' ? containSuspendedReply(c.budget) : containDeferredReply(c.budget)
  const detail = `${who} ${action}${observe}: ${c.reason} (keys ${keys})`
  return decision(c.budget, enforced(cfg, reply), detail)
}

/**
 * The shared state could not answer (a store that fails closed rejected the
 * batch, or it did not answer in time): 451 4.3.0, so the client keeps the
 * message and tries again; in observe mode the command goes on, logged.
 */
export function unavailableDecision(
  who: string,
  step: string,
  why: string,
  cfg: ContainConfig,
): ContainDecision {
  const then = cfg.mode === 'enforce' ? '451' : 'let through (containment=observe)'
  return {
    ...decision(
      'state_unavailable',
      enforced(cfg, REPLIES.CONTAIN_UNAVAILABLE),
      `${step} for ${who}: ${why}: ${then}`,
    ),
    verdict: 'err',
  }
}

declare module '../decisions' {
  interface Reasons {
    contain: ContainReason
  }
}
