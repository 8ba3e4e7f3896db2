// One AUTH attempt in a Haraka session, from decoded credentials to the reply,
// within a deadline (lib/authn/budget): Haraka answers a hook that is still
// running at its plugin timeout with a permanent "500 plugin timeout", and a
// verdict that came later would then answer (and authenticate) a later command.
// So we answer 454 4.7.0 ourselves before that, and a late verdict is logged
// and dropped: it never replies, and never sets auth_user or relaying.
import type { Connection, Next } from 'haraka'
import { budgetWarnings } from '../../lib/authn/budget'
import { hookDeadlineMs } from '../../lib/deadline'
import { safeForLog } from '../../lib/text'
import type { Credentials } from '../../lib/authn/sasl'
import type { CredentialCache } from '../../lib/authn/cache'
import { identityNotes, identityRuleFor } from '../../lib/authn/identity'
import { verifyCredentials, type Verdict } from '../../lib/authn/verify'
import type { LocalUsers } from '../../lib/authn/local_users'
import type { DirectoryConfig } from '../../lib/ldap/config'
import type { DirectoryHandle } from '../../lib/ldap/handle'
import { REPLIES } from '../../lib/replies'
import { answerFailure, answerSuccess, replyFor, type AuthPlugin } from './outcome'

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
  const left = () => deadlineMs - (Date.now() - started)
  let settled = false

  const timer = setTimeout(() => {
    if (settled) return
    settled = true
    connection.results.add({ name: 'auth' }, { fail: `${plugin.name}/${mech}` })
    const log = `AUTH ${mech} failed for ${who}: authn(timeout) no verdict within ${deadlineMs} ms (auth_timeout, plugin timeout ${plugin.timeout} s)`
    answerFailure(plugin, connection, next, REPLIES.AUTH_TEMPFAIL, 'authn(timeout)', log, { delay: false })
  }, deadlineMs)

  const ctx = {
    mode: plugin.dirCfg.mode as 'search' | 'template',
    identityRule: identityRuleFor(plugin.dirCfg),
    cfg: plugin.cfg,
    cache: plugin.cache,
    localUsers: plugin.localUsers,
    readStateAsService: Boolean(plugin.dirCfg.bind_dn),
  }
  // use(): a reload of ldap_directory.ini meanwhile closes the old pools only after this attempt.
  plugin.directory
    .use((directory) => verifyCredentials({ ...ctx, directory }, credentials))
    .then(
      (v: Verdict) => {
        if (late(`${v.rule}(${v.reason})`)) return
        if (v.outcome === 'OK') {
          const session = { login: v.login!, identity: v.identity!, user: v.user!, proxy: v.proxy === true }
          return answerSuccess(plugin, connection, next, mech, { ...session, reason: v.reason })
        }
        connection.results.add({ name: 'auth' }, { fail: `${plugin.name}/${mech}` })
        const log = `AUTH ${mech} failed for ${who}: ${v.rule}(${v.reason})${v.detail ? ` ${v.detail}` : ''}`
        // An outage is not the client's doing: counted, but answered without the delay; no delay outlives the deadline.
        answerFailure(plugin, connection, next, replyFor(v.outcome), `${v.rule}(${v.reason})`, log, {
          delay: v.outcome !== 'DIRECTORY_DOWN',
          maxDelayMs: left(),
        })
      },
      (err: unknown) => {
        // A bug, not a directory outage (those are outcomes): still a temporary failure, never a 235.
        connection.logerror(plugin, `AUTH ${mech} error for ${who}: ${(err as Error).stack ?? String(err)}`)
        if (late('internal error')) return
        answerFailure(
          plugin,
          connection,
          next,
          REPLIES.AUTH_TEMPFAIL,
          'authn(internal_error)',
          `AUTH ${mech} internal error for ${who}`,
          { delay: false },
        )
      },
    )

  /** True (and logged) when the deadline already answered: the verdict must change nothing. */
  function late(verdict: string): boolean {
    if (!settled) {
      settled = true
      clearTimeout(timer)
      return false
    }
    connection.lognotice(
      plugin,
      `AUTH ${mech} for ${who}: verdict ${verdict} came after ${Date.now() - started} ms, when 454 had been answered: ignored`,
    )
    return true
  }
}
