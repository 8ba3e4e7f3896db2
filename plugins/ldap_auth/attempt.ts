// One AUTH attempt in a Haraka session, from decoded credentials to the reply,
// within a deadline (lib/authn/budget): Haraka answers a hook that is still
// running at its plugin timeout with a permanent "500 plugin timeout", and a
// verdict that came later would then answer (and authenticate) a later command.
// So we answer 454 4.7.0 ourselves before that, and a late verdict is logged
// and dropped: it never replies, and never sets auth_user or relaying.
import type { Connection, Next } from 'haraka'
import { createAuthenticator } from '../../lib/authn/authenticator'
import { budgetWarnings } from '../../lib/authn/budget'
import type { CredentialCache } from '../../lib/authn/cache'
import { AUTH_INTERNAL_ERROR, AUTH_TIMED_OUT, verdictDecision } from '../../lib/authn/decide'
import { identityNotes, identityRuleFor } from '../../lib/authn/identity'
import type { LocalUsers } from '../../lib/authn/local_users'
import type { Credentials } from '../../lib/authn/sasl'
import type { Verdict } from '../../lib/authn/verify'
import { hookDeadlineMs, settleWithin } from '../../lib/deadline'
import { labelOf } from '../../lib/decisions'
import type { DirectoryConfig } from '../../lib/ldap/config'
import type { DirectoryHandle } from '../../lib/ldap/handle'
import { safeForLog } from '../../lib/text'
import { nextOnce } from '../../haraka/next_once'
import { noteLoginEntry, sessionAttributes } from '../../haraka/notes'
import { loginEntryKey } from '../../lib/ldap/login_entry'
import { recordAuthContract } from '../../haraka/record'
import { answerFailure, answerSuccess, type AuthPlugin } from './outcome'

export interface AttemptPlugin extends AuthPlugin {
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
  const logBug = (err: unknown) =>
    connection.logerror(plugin, `AUTH ${mech} error for ${who}: ${(err as Error).stack ?? String(err)}`)
  // The configuration as it is now: a reload meanwhile changes nothing for this attempt.
  const dirCfg = plugin.dirCfg
  const authenticator = createAuthenticator({
    directory: dirCfg,
    auth: plugin.cfg,
    localUsers: plugin.localUsers,
    cache: plugin.cache,
    handle: plugin.directory,
    sessionAttributes: sessionAttributes(connection),
  })

  // next() at most once, so that a bug after the answer cannot answer twice
  const answer = nextOnce(next)
  settleWithin(authenticator.verify(credentials), deadlineMs, {
    value(v: Verdict) {
      if (v.outcome === 'OK') {
        // the entry the search found, so auth_relay need not search for it again (lib/ldap/login_entry)
        const { found } = v
        const key = loginEntryKey(dirCfg)
        noteLoginEntry(connection, found && !v.proxy ? { key, login: v.login!, ...found } : undefined)
        return answerSuccess(plugin, connection, answer, mech, v)
      }
      recordAuthContract(connection, plugin, { pass: false, method: mech })
      const log = `AUTH ${mech} failed for ${who}: ${labelOf(v)}${v.detail ? ` ${v.detail}` : ''}`
      // An outage is not the client's doing: counted, but answered without the delay.
      // No delay outlives the deadline.
      answerFailure(plugin, connection, answer, verdictDecision(v), log, {
        delay: v.outcome !== 'DIRECTORY_DOWN',
        maxDelayMs: deadlineMs - (Date.now() - started),
        auth: { login: authcid, ...(v.server ? { server: v.server } : {}) },
      })
    },
    error(err) {
      logBug(err)
      // A bug after the answer (in answerSuccess/answerFailure): logged, never a second reply.
      if (answer.called) return
      const log = `AUTH ${mech} internal error for ${who}`
      answerFailure(plugin, connection, answer, AUTH_INTERNAL_ERROR, log, {
        delay: false,
        auth: { login: authcid },
      })
    },
    timeout() {
      recordAuthContract(connection, plugin, { pass: false, method: mech })
      const log = `AUTH ${mech} failed for ${who}: authn(timeout) no verdict within ${deadlineMs} ms (auth_timeout, plugin timeout ${plugin.timeout} s)`
      answerFailure(plugin, connection, answer, AUTH_TIMED_OUT, log, {
        delay: false,
        auth: { login: authcid },
      })
    },
    late(settled) {
      if ('error' in settled) logBug(settled.error)
      const verdict = 'value' in settled ? labelOf(settled.value) : 'internal error'
      const after = `came after ${Date.now() - started} ms, when 454 had been answered: ignored`
      connection.lognotice(plugin, `AUTH ${mech} for ${who}: verdict ${verdict} ${after}`)
    },
  })
}
