// One AUTH attempt in a Haraka session, from decoded credentials to the reply,
// within a deadline (lib/authn/budget): Haraka answers a hook that is still
// running at its plugin timeout with a permanent "500 plugin timeout", and a
// verdict that came later would then answer (and authenticate) a later command.
// So we answer 454 4.7.0 ourselves before that, and a late verdict is logged
// and dropped: it never replies, and never sets auth_user or relaying.
import type { Connection, Next } from 'haraka'
import { budgetWarnings } from '../../lib/authn/budget'
import type { CredentialCache } from '../../lib/authn/cache'
import { AUTH_INTERNAL_ERROR } from '../../lib/authn/decide'
import { identityNotes, identityRuleFor } from '../../lib/authn/identity'
import type { LocalUsers } from '../../lib/authn/local_users'
import type { Credentials } from '../../lib/authn/sasl'
import { hookDeadlineMs } from '../../lib/deadline'
import { labelOf } from '../../lib/decisions'
import type { DirectoryConfig } from '../../lib/ldap/config'
import type { DirectoryHandle } from '../../lib/ldap/handle'
import { safeForLog } from '../../lib/text'
import { nextOnce } from '../../haraka/next_once'
import { recordAuthContract } from '../../haraka/record'
import { limitAttempt, type LimitPlugin } from './limit'
import { verifyWithin } from './verdict'
import { answerFailure, type AuthPlugin } from './outcome'

export interface AttemptPlugin extends AuthPlugin, LimitPlugin {
  dirCfg: DirectoryConfig
  directory: DirectoryHandle
  cache: CredentialCache
  localUsers: LocalUsers
}

/**
 * At load: timeouts that cannot fit Haraka's plugin timeout, and similar, as warnings; and
 * what ldap_directory.ini makes of a login's identity (lib/authn/identity).
 */
export function warnAboutBudget(plugin: AttemptPlugin): void {
  if (!plugin.cfg || !plugin.dirCfg) return
  for (const w of budgetWarnings(plugin.cfg, plugin.dirCfg, plugin.timeout)) plugin.logwarn(`ldap_auth: ${w}`)
  const { warnings, notes } = identityNotes(identityRuleFor(plugin.dirCfg))
  for (const w of warnings) plugin.logwarn(`ldap_directory.ini: ${w}`)
  for (const n of notes) plugin.loginfo(`ldap_directory.ini: ${n}`)
}

export function verifyAttempt(
  plugin: AttemptPlugin,
  next: Next,
  connection: Connection,
  credentials: Credentials,
): void {
  const { mech, authcid } = credentials
  const who = safeForLog(authcid)
  const started = Date.now()
  const deadlineMs = hookDeadlineMs(plugin.cfg.auth_timeout, plugin.timeout)
  const left = () => deadlineMs - (Date.now() - started)
  const logBug = (err: unknown) =>
    connection.logerror(plugin, `AUTH ${mech} error for ${who}: ${(err as Error).stack ?? String(err)}`)
  // next() at most once, so that a bug after the answer cannot answer twice
  const answer = nextOnce(next)
  const internalError = (err: unknown) => {
    logBug(err)
    // A bug after the answer (in answerSuccess/answerFailure): logged, never a second reply.
    if (answer.called) return
    const log = `AUTH ${mech} internal error for ${who}`
    answerFailure(plugin, connection, answer, AUTH_INTERNAL_ERROR, log, {
      delay: false,
      auth: { login: authcid },
    })
  }
  const limit = limitAttempt(plugin, connection, credentials)
  if (!limit) return verifyWithin(plugin, connection, answer, credentials, started, deadlineMs, internalError)
  // The limiter is asked first: a refused attempt, or a password already known wrong, never reaches the directory.
  limit
    .gate(left())
    .then(async (gate) => {
      if (gate.kind === 'ask')
        return verifyWithin(
          plugin,
          connection,
          answer,
          credentials,
          started,
          deadlineMs,
          internalError,
          limit,
        )
      const settled = gate.kind === 'shield' ? await limit.afterFailure(left()) : undefined
      recordAuthContract(connection, plugin, { pass: false, method: mech })
      const log = `AUTH ${mech} ${gate.kind === 'shield' ? 'failed' : 'refused'} for ${who}: ${labelOf(gate.decision)} ${gate.decision.detail ?? ''}`
      answerFailure(plugin, connection, answer, gate.decision, log, {
        maxDelayMs: left(),
        limiterDelayMs: settled?.delayMs,
        auth: { login: authcid, limiter: limit.action(settled?.action === 'ban' ? 'ban' : gate.kind) },
      })
    })
    .catch(internalError)
}
