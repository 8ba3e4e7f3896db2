// The AUTH limiter in a Haraka session (lib/limiter/policy over the process's
// shared state, haraka/shared_state): asked before the directory, fed after the
// verdict, and at connect for an address or subnet ban. A store that fails or
// does not answer within store_timeout is "no limiter data": the attempt goes on
// (logged once per change of state), and AUTH never breaks for it.
import type { Connection, Plugin } from 'haraka'
import { normaliseLogin } from '../../lib/authn/login'
import type { Credentials } from '../../lib/authn/sasl'
import { type LimitsConfig } from '../../lib/limiter/config'
import { attemptKeys, canonicalLogin, type AttemptKeys } from '../../lib/limiter/keys'
import {
  banOps,
  beforeOps,
  failureOps,
  isExempt,
  judgeBefore,
  judgeFailure,
  limitDecision,
  NOTHING_KNOWN,
  readBefore,
  readFailure,
  successDelay,
  successOps,
  type Before,
  type Gate,
  type LimitDecision,
  type LimiterAction,
} from '../../lib/limiter/policy'
import { REPLIES, type Reply } from '../../lib/replies'
import type { StateOp } from '../../lib/state/store'
import { record } from '../../haraka/record'
import { sharedSecret, type StateHolder } from '../../haraka/shared_state'
import { banMirror, runBatch } from './limit_hooks'

export interface LimitPlugin extends Plugin {
  limits?: LimitsConfig
  load_auth_limits_ini?(): void
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
  /** `user`: the session's user the verdict gave (a suspension is made for it) */
  afterSuccess(ms: number, user?: string): Promise<Settled>
  /** the audit value of an attempt the gate answered */
  action(a: LimiterAction): LimiterAction
}

/** The gate while the shared store fails closed (shared_state.ini on_failure=closed): 454, the directory not asked. */
const STORE_CLOSED: Gate = {
  kind: 'refuse',
  decision: limitDecision(
    'store_unavailable',
    'fail',
    'the shared store is unavailable and fails closed (on_failure=closed)',
    REPLIES.AUTH_TEMPFAIL,
  ) as LimitDecision & { reply: Reply },
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
  const key = limiterKey(cfg, connection)
  const keys: AttemptKeys = attemptKeys(cfg, key, ip, canonicalLogin(login.login), credentials.password)
  const exempt = isExempt(cfg, ip)
  let before: Before = NOTHING_KNOWN
  let unavailable = false
  let closed = false
  // A batch waits at most store_timeout, or less when the attempt has less left.
  const run = async (ops: readonly StateOp[], ms: number) => {
    if (ops.length === 0) return []
    const answers = await runBatch(
      plugin,
      connection,
      ops,
      Math.min(cfg.store_timeout, ms),
      () => (closed = true),
    )
    if (!answers) unavailable = true
    return answers
  }
  const action = (a: LimiterAction): LimiterAction => (unavailable ? 'unavailable' : a)
  return {
    action,
    async gate(ms) {
      const answers = await run(beforeOps(cfg, keys), ms)
      if (!answers) return closed ? STORE_CLOSED : { kind: 'ask' }
      before = readBefore(answers, Date.now())
      return judgeBefore(cfg, keys, before, exempt, Date.now())
    },
    async afterFailure(ms) {
      const started = Date.now()
      const answers = await run(failureOps(cfg, keys, before.familiar), ms)
      if (!answers) return { delayMs: 0, action: action('allow'), note: 'limiter: no store' }
      const counts = readFailure(answers)
      const { delayMs, bans } = judgeFailure(cfg, keys, before, counts, exempt)
      const by = `ip ${counts.ip}, subnet ${counts.subnet}, login ${counts.login}, pair ${counts.pair}${before.familiar ? `, familiar ${counts.familiar}` : ''}`
      if (bans.length) {
        const left = ms - (Date.now() - started)
        const at = Date.now()
        const written = await run(banOps(cfg, bans, at), left)
        // This process's connect check knows them at once (the others at their next refresh).
        const copy = written && banMirror(connection)
        if (copy) for (const ban of bans) copy.note(ban.key, at + ban.lengthMs)
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
    async afterSuccess(ms, user) {
      const { ops, suspension } = successOps(cfg, keys, before, Date.now(), user)
      const answers = await run(ops, ms)
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

/** The limiter's HMAC key: with no secret set, the one kept in Redis (store=redis) once known, so every process computes alike. */
export function limiterKey(cfg: { key: Buffer; randomKey: boolean }, connection: StateHolder): Buffer {
  return cfg.randomKey ? (sharedSecret(connection) ?? cfg.key) : cfg.key
}
