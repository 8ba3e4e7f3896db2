// The AUTH limiter's Haraka ends besides the attempt (./limit): its ini
// (config/auth_limits.ini, lib/limiter/config) and the connect hook that answers
// 421 4.7.0 to a banned address or subnet, before any TLS work; and the one way
// both run a batch on the shared state (runBatch).
import constants from 'haraka-constants'
import type { Connection, Next, Plugin } from 'haraka'
import { AUTH_LIMITS_INI, limitsNotes, limitsWarnings } from '../../lib/limiter/config'
import { connectKeys } from '../../lib/limiter/keys'
import { connectOps, isExempt, judgeConnect, limitDecision } from '../../lib/limiter/policy'
import { StateUnavailableError, type StateAnswer, type StateOp } from '../../lib/state/store'
import { withDeadline } from '../../lib/deadline'
import { loadValidated } from '../../haraka/load_config'
import { nextOnce } from '../../haraka/next_once'
import { record } from '../../haraka/record'
import { sharedState } from '../../haraka/shared_state'
import type { LimitPlugin } from './limit'

// Whether the last batch failed, for one log line per change of state (per process).
let storeFailing = false

/**
 * One batch, within `ms`: its answers, or undefined when the store failed or was too slow.
 * `closed` is told when the store refused because it fails closed (shared_state.ini on_failure=closed).
 */
export async function runBatch(
  plugin: Plugin,
  connection: Connection,
  ops: readonly StateOp[],
  ms: number,
  closed?: () => void,
): Promise<StateAnswer[] | undefined> {
  const store = sharedState(connection)
  try {
    const answers = await withDeadline(
      store.run(ops, Date.now()),
      Math.max(1, ms),
      `no answer within ${Math.max(1, ms)} ms`,
    )
    if (storeFailing) {
      storeFailing = false
      connection.lognotice(plugin, `auth_limits: the ${store.kind} store answers again: the limiter is back`)
    }
    return answers
  } catch (err) {
    const first = !storeFailing
    storeFailing = true
    if (err instanceof StateUnavailableError) closed?.()
    const then = err instanceof StateUnavailableError ? 'AUTH is refused' : 'AUTH goes on without the limiter'
    const detail = `the ${store.kind} store failed (${(err as Error).message}): ${then}`
    record(connection, plugin, limitDecision('store_unavailable', 'err', detail), {
      level: first ? 'warn' : 'none',
    })
    return undefined
  }
}

export function load_auth_limits_ini(this: LimitPlugin): void {
  const previous = this.limits
  this.limits = loadValidated(this, AUTH_LIMITS_INI, () => load_auth_limits_ini.call(this), this.limits)
  if (!this.limits || this.limits === previous) return
  for (const w of limitsWarnings(this.limits)) this.logwarn(`auth_limits.ini: ${w}`)
  for (const n of limitsNotes(this.limits)) this.loginfo(`auth_limits.ini: ${n}`)
}

/** connect: 421 4.7.0 and disconnect while the address or its subnet is banned (before any TLS work). */
export function limit_connect(this: LimitPlugin, next: Next, connection: Connection): void {
  const cfg = this.limits
  const ip = connection.remote?.ip
  if (!cfg?.enabled || !ip || isExempt(cfg, ip)) return next()
  const keys = connectKeys(cfg, ip)
  const done = nextOnce(next)
  runBatch(this, connection, connectOps(keys), cfg.store_timeout)
    .then((answers) => {
      const decision = answers && judgeConnect(keys, answers, Date.now())
      if (!decision) return done()
      done(constants.denysoftdisconnect, record(connection, this, decision))
    })
    .catch((err: unknown) => {
      connection.logerror(this, `auth_limits: connect check failed: ${(err as Error).stack ?? String(err)}`)
      done()
    })
}
