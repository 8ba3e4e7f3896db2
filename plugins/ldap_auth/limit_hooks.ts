// The AUTH limiter's Haraka ends besides the attempt (./limit): its ini
// (config/auth_limits.ini, lib/limiter/config) and the connect hook that answers
// 421 4.7.0 to a banned address or subnet, before any TLS work; and the one way
// both run a batch on the shared state (runBatch). With a shared store (Redis)
// the connect check answers from this process's copy of the bans in force
// (lib/limiter/ban_mirror, refreshed every BAN_MIRROR_MS), not a round trip per
// connection; a copy too old to trust falls back to asking the store.
import constants from 'haraka-constants'
import type { Connection, Next, Plugin } from 'haraka'
import { AUTH_LIMITS_INI, limitsNotes, limitsWarnings } from '../../lib/limiter/config'
import { BanMirror } from '../../lib/limiter/ban_mirror'
import { connectKeys } from '../../lib/limiter/keys'
import { connectOps, isExempt, judgeConnect, limitDecision } from '../../lib/limiter/policy'
import {
  runWithin,
  StateUnavailableError,
  type StateAnswer,
  type StateOp,
  type StateStore,
} from '../../lib/state/store'
import { loadValidated } from '../../haraka/load_config'
import { nextOnce } from '../../haraka/next_once'
import { record } from '../../haraka/record'
import { sharedState } from '../../haraka/shared_state'
import type { LimitPlugin } from './limit'

// Whether the last batch failed, for one log line per change of state (per process).
let storeFailing = false

/** How often the copy of the bans is read again: the most a ban earned elsewhere waits to be refused at connect here. */
export const BAN_MIRROR_MS = 50
/** A copy older than this (three refreshes missed: the store slow or down) is not answered from. */
const BAN_MIRROR_STALE_MS = 3 * BAN_MIRROR_MS

let mirror: { store: StateStore; copy: BanMirror } | undefined

/** This process's copy of the bans of a shared store (started on first use); undefined for the memory store. */
export function banMirror(connection: Connection): BanMirror | undefined {
  const store = sharedState(connection)
  if (store.kind !== 'redis') return undefined
  if (mirror?.store === store) return mirror.copy
  mirror?.copy.stop()
  const copy = new BanMirror({
    run: (ops, now) => store.run(ops, now),
    intervalMs: BAN_MIRROR_MS,
    staleMs: BAN_MIRROR_STALE_MS,
  })
  mirror = { store, copy }
  return copy
}

/** shutdown(): no more refreshes. */
export function stopBanMirror(): void {
  mirror?.copy.stop()
  mirror = undefined
}

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
    const answers = await runWithin(store, ops, ms)
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
  const copy = banMirror(connection)
  const now = Date.now()
  const store = sharedState(connection)
  // From this process's copy of a shared store's bans, or from the memory store itself: no wait.
  const answers = copy?.use(now)
    ? [copy.until(keys.banIp, now), copy.until(keys.banSubnet, now)]
    : store.runNow?.(connectOps(keys), now)
  if (answers) {
    const decision = judgeConnect(keys, answers, now)
    if (!decision) return next()
    return next(constants.denysoftdisconnect, record(connection, this, decision))
  }
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
