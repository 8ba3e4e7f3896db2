// The AUTH limiter in a Haraka session (lib/limiter/policy over the process's
// shared state, haraka/shared_state): asked before the directory, fed after the
// verdict, and at connect for an address or subnet ban. A store that fails or
// does not answer within store_timeout is "no limiter data": the attempt goes on
// (logged once per change of state), and AUTH never breaks for it.
import constants from 'haraka-constants'
import type { Connection, Next, Plugin } from 'haraka'
import { normaliseLogin } from '../../lib/authn/login'
import type { Credentials } from '../../lib/authn/sasl'
import { withDeadline } from '../../lib/deadline'
import { AUTH_LIMITS_INI, limitsWarnings, type LimitsConfig } from '../../lib/limiter/config'
import { attemptKeys, canonicalLogin, connectKeys, type AttemptKeys } from '../../lib/limiter/keys'
import {
  banOps,
  beforeOps,
  connectOps,
  failureOps,
  isExempt,
  judgeBefore,
  judgeConnect,
  judgeFailure,
  limitDecision,
  NOTHING_KNOWN,
  readBefore,
  readFailure,
  successDelay,
  successOps,
  type Before,
  type Gate,
  type LimiterAction,
} from '../../lib/limiter/policy'
import type { StateAnswer, StateOp } from '../../lib/state/store'
import { loadValidated } from '../../haraka/load_config'
import { nextOnce } from '../../haraka/next_once'
import { record } from '../../haraka/record'
import { sharedState } from '../../haraka/shared_state'

export interface LimitPlugin extends Plugin {
  limits?: LimitsConfig
  load_auth_limits_ini?(): void
}

export function load_auth_limits_ini(this: LimitPlugin): void {
  const previous = this.limits
  this.limits = loadValidated(this, AUTH_LIMITS_INI, () => load_auth_limits_ini.call(this), this.limits)
  if (!this.limits || this.limits === previous) return
  for (const w of limitsWarnings(this.limits)) this.logwarn(`auth_limits.ini: ${w}`)
}

// Whether the last batch failed, for one log line per change of state (per process).
let storeFailing = false

/** One batch, within `ms`: its answers, or undefined when the store failed or was too slow. */
async function runBatch(
  plugin: Plugin,
  connection: Connection,
  ops: readonly StateOp[],
  ms: number,
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
    const detail = `the ${store.kind} store failed (${(err as Error).message}): AUTH goes on without the limiter`
    record(connection, plugin, limitDecision('store_unavailable', 'err', detail), {
      level: first ? 'warn' : 'none',
    })
    return undefined
  }
}

/** What the limiter did after the verdict: the delay it asks for the reply, and its action. */
export interface Settled {
  delayMs: number
  action: LimiterAction
  /** words for the attempt's log line */
  note: string
}

export interface LimitSession {
  /** before the directory */
  gate(ms: number): Promise<Gate>
  /** after a counted failure (a wrong password, an unknown login, a refusal; not an outage) */
  afterFailure(ms: number): Promise<Settled>
  afterSuccess(ms: number): Promise<Settled>
  /** the audit value of an attempt the gate answered */
  action(a: LimiterAction): LimiterAction
}

/** The limiter for one attempt; undefined when it is off or the login is not one (verify refuses it unasked). */
export function limitAttempt(
  plugin: LimitPlugin,
  connection: Connection,
  credentials: Credentials,
): LimitSession | undefined {
  // The configuration as it is now: a reload meanwhile changes nothing for this attempt.
  const cfg = plugin.limits
  const ip = connection.remote?.ip
  const login = normaliseLogin(credentials.authcid)
  if (!cfg?.enabled || !ip || !login.ok) return undefined
  const keys: AttemptKeys = attemptKeys(cfg, cfg.key, ip, canonicalLogin(login.login), credentials.password)
  const exempt = isExempt(cfg, ip)
  let before: Before = NOTHING_KNOWN
  let unavailable = false
  const run = async (ops: readonly StateOp[], ms: number) => {
    const answers = await runBatch(plugin, connection, ops, ms)
    if (!answers) unavailable = true
    return answers
  }
  const action = (a: LimiterAction): LimiterAction => (unavailable ? 'unavailable' : a)
  return {
    action,
    async gate(ms) {
      const answers = await run(beforeOps(cfg, keys), Math.min(cfg.store_timeout, ms))
      if (!answers) return { kind: 'ask', action: 'allow' }
      before = readBefore(answers, Date.now())
      return judgeBefore(cfg, keys, before, exempt, Date.now())
    },
    async afterFailure(ms) {
      const started = Date.now()
      const answers = await run(failureOps(cfg, keys, before.familiar), Math.min(cfg.store_timeout, ms))
      if (!answers) return { delayMs: 0, action: action('allow'), note: 'limiter: no store' }
      const counts = readFailure(answers)
      const { delayMs, bans } = judgeFailure(cfg, keys, before, counts, exempt)
      const by = `ip ${counts.ip}, subnet ${counts.subnet}, login ${counts.login}, pair ${counts.pair}${before.familiar ? `, familiar ${counts.familiar}` : ''}`
      if (bans.length) {
        const left = ms - (Date.now() - started)
        const written = await run(banOps(cfg, bans, Date.now()), Math.min(cfg.store_timeout, left))
        for (const ban of bans)
          record(
            connection,
            plugin,
            written ? ban.decision : { ...ban.decision, detail: `${ban.decision.detail} (not stored)` },
            {
              level: 'notice',
            },
          )
      }
      if (delayMs && !bans.length)
        record(connection, plugin, limitDecision('delayed', 'skip'), { level: 'none' })
      const act: LimiterAction = exempt ? 'exempt' : bans.length ? 'ban' : delayMs ? 'delay' : 'allow'
      return { delayMs, action: action(act), note: `limiter: ${by} distinct failures in ${cfg.window} s` }
    },
    async afterSuccess(ms) {
      const { ops, suspension } = successOps(cfg, keys, before, Date.now())
      const answers = await run(ops, Math.min(cfg.store_timeout, ms))
      if (suspension)
        record(
          connection,
          plugin,
          answers ? suspension : { ...suspension, detail: `${suspension.detail} (not stored)` },
          {
            level: 'warn',
          },
        )
      const delayMs = successDelay(cfg, before, exempt)
      if (delayMs) record(connection, plugin, limitDecision('delayed', 'skip'), { level: 'none' })
      const act: LimiterAction = suspension ? 'suspend' : exempt ? 'exempt' : delayMs ? 'delay' : 'allow'
      const note = `limiter: ${before.familiar ? 'familiar' : 'unfamiliar'} source`
      return { delayMs, action: action(act), note }
    },
  }
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
