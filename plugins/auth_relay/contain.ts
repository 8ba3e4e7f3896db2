// Containment of a compromised account (lib/containment): at MAIL FROM a
// suspended login gets 550 5.7.1 and a deferred one 451 4.7.1; each accepted
// RCPT of an authenticated login is counted in its budgets, and the one that
// crosses a budget defers or suspends the login; recipients refused by our RCPT
// checks or bounced by the far side (bounce.ts) count as refused. The
// state is the process's shared store (haraka/shared_state); a batch that is
// rejected or does not answer in time is 451 4.3.0 (fail closed).
import type { Connection } from 'haraka'
import {
  acceptedRcpt,
  containLogin,
  gateOps,
  readGate,
  refusedRecipients,
} from '../../lib/containment/budgets'
import { gateDecision, unavailableDecision, type ContainDecision } from '../../lib/containment/decide'
import { safeForLog } from '../../lib/text'
import {
  containMessageCounted,
  containRefusal,
  noteContainLogin,
  noteContainMessageCounted,
  noteContainRefusal,
} from '../../haraka/notes'
import { record, replyCode } from '../../haraka/record'
import { sharedState } from '../../haraka/shared_state'
import { applyCrossing, runBatch, why } from './contain_state'
import type { AuthRelay } from './state'

/** A containment refusal, recorded: the hook answers next(code, dsn). */
export interface Refusal {
  code: number
  dsn: unknown
}

function recorded(
  connection: Connection,
  plugin: AuthRelay,
  d: ContainDecision,
  log: string,
): Refusal | undefined {
  const dsn = record(connection, plugin, d, { log })
  if (!d.reply) return undefined
  return { code: replyCode(d.reply), dsn }
}

/**
 * MAIL FROM of an authenticated login: the refusal when it is suspended or
 * deferred (or the state cannot tell), else undefined. Records what it decides.
 */
export async function containMail(
  plugin: AuthRelay,
  connection: Connection,
  login: string,
): Promise<Refusal | undefined> {
  const cfg = plugin.cfg.contain
  if (cfg.mode === 'off') return undefined
  const key = containLogin(login)
  const who = safeForLog(login)
  let decision: ContainDecision | undefined
  try {
    const answers = await runBatch(plugin, sharedState(connection), gateOps(key))
    decision = gateDecision(who, readGate(key, answers), cfg)
  } catch (err) {
    decision = unavailableDecision(who, 'MAIL: containment check', why(err), cfg)
  }
  if (!decision) return undefined
  return recorded(connection, plugin, decision, decision.detail ?? '')
}

export interface RcptFacts {
  accepted: boolean
  external: boolean
  address: string
  domain: string
}

/**
 * One recipient of an authenticated login, after the relay decision: counted
 * (accepted) or counted as refused. Answers the containment refusal for an
 * accepted recipient that must not go through (recorded), else undefined.
 */
export async function containRcpt(
  plugin: AuthRelay,
  connection: Connection,
  login: string,
  rcpt: RcptFacts,
): Promise<Refusal | undefined> {
  const cfg = plugin.cfg.contain
  const txn = connection.transaction
  if (cfg.mode === 'off' || !txn) return undefined
  const who = safeForLog(login)
  const earlier = containRefusal(txn)
  if (rcpt.accepted && earlier)
    return recorded(connection, plugin, earlier, `RCPT refused: ${earlier.detail}`)
  const key = containLogin(login)
  noteContainLogin(txn, key)
  const first = rcpt.accepted && !containMessageCounted(txn)
  const counting = rcpt.accepted
    ? acceptedRcpt(key, { firstOfMessage: first, ...rcpt }, cfg)
    : refusedRecipients(key, 1, cfg)
  const store = sharedState(connection)
  let decision: ContainDecision | undefined
  try {
    const counts = counting.read(await runBatch(plugin, store, counting.ops))
    if (first) noteContainMessageCounted(txn)
    decision = await applyCrossing(plugin, store, key, counts, who, () => {
      const keys = [...counts.keys()].map((b) => `${b}=${counts.get(b)}`).join(' ')
      return `login=${key} ${keys}`
    })
  } catch (err) {
    if (!rcpt.accepted) {
      connection.logwarn(plugin, `containment: refused recipient of ${who} not counted: ${why(err)}`)
      return undefined
    }
    decision = unavailableDecision(who, 'RCPT: containment count', why(err), cfg)
  }
  if (!decision) return undefined
  if (decision.reply && decision.reason !== 'state_unavailable') noteContainRefusal(txn, decision)
  const refusal = recorded(connection, plugin, decision, decision.detail ?? '')
  return rcpt.accepted ? refusal : undefined
}
