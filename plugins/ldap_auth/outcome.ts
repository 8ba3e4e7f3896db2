// How ldap_auth ends an AUTH attempt in a Haraka session: the success contract
// of Haraka's auth_base, and failures counted per session with a growing delay
// (a timer, never blocking) and 421 + disconnect once max_failures is reached.
// Every results entry goes through haraka/record.
import constants from 'haraka-constants'
import type { Connection, Next, Plugin } from 'haraka'
import { failureDelayMs, type AuthConfig } from '../../lib/authn/config'
import { ACTING_AS_AUTHZID, verdictDecision, type Answered } from '../../lib/authn/decide'
import type { Verdict } from '../../lib/authn/verify'
import type { Decision } from '../../lib/decisions'
import type { ServerEvent } from '../../lib/ldap/servers'
import { authResultsValue } from '../../lib/mail/auth_results'
import { REPLIES, replyText } from '../../lib/replies'
import { safeForLog } from '../../lib/text'
import { authCommand, countAuthFailure, noteAuthenticated } from '../../haraka/notes'
import { closeAuditFiles } from '../../haraka/audit_file'
import { record, recordAuthContract, setAuditSink, type AuthAudit } from '../../haraka/record'

export interface AuthPlugin extends Plugin {
  cfg: AuthConfig
}

export function logServerEvent(plugin: Plugin, e: ServerEvent): void {
  if (e.up) plugin.lognotice(`directory server ${e.url} is up again: ${e.reason}`)
  else plugin.logwarn(`directory server ${e.url} marked down: ${e.reason}`)
}

/** ldap_auth.ini audit, audit_file: where every plugin's audit lines go in this process (haraka/record). */
export function applyAuditSetting(cfg: AuthConfig): void {
  closeAuditFiles()
  setAuditSink(
    cfg.audit === 'file' ? { mode: 'file', file: cfg.audit_file } : { mode: cfg.audit as 'log' | 'off' },
  )
}

export interface FailureOptions {
  /** the attempt, for its audit line (mechanism, login as given) */
  auth?: AuthAudit
  /** false: answer at once (an outage is not the client's doing) */
  delay?: boolean
  /** the delay never exceeds this (the time left before the AUTH deadline) */
  maxDelayMs?: number
  /** the AUTH limiter's delay (auth_limits.ini): the reply waits the larger of it and the session's, not the sum */
  limiterDelayMs?: number
}

/**
 * Count one failed attempt and record it, its log line saying which failure it is.
 * Returns the delay before the reply, and whether this one reached max_failures.
 */
export function countFailure(
  plugin: AuthPlugin,
  connection: Connection,
  decision: Decision,
  log: string,
  opts: FailureOptions = {},
): { delayMs: number; last: boolean } {
  const n = countAuthFailure(connection)
  const last = n >= plugin.cfg.max_failures
  const sessionDelay = opts.delay === false ? 0 : failureDelayMs(plugin.cfg, n)
  const wanted = Math.max(sessionDelay, opts.limiterDelayMs ?? 0)
  const delayMs = Math.max(0, Math.min(wanted, opts.maxDelayMs ?? Infinity))
  const tail = `${delayMs ? `, reply in ${delayMs} ms` : ''}${last ? ', too many failures: closing the connection' : ''}`
  record(connection, plugin, decision, {
    emit: true,
    log: `${log} (failure ${n} of ${plugin.cfg.max_failures}${tail})`,
    auth: {
      mechanism: authCommand(connection)?.mechanism,
      startedAt: authCommand(connection)?.at,
      ...opts.auth,
    },
  })
  return { delayMs, last }
}

/** Answer a failed attempt: its own reply, or 421 4.7.0 and disconnect when it was the last allowed. */
export function answerFailure(
  plugin: AuthPlugin,
  connection: Connection,
  next: Next,
  decision: Answered<'auth' | 'authn' | 'authz' | 'limit'>,
  log: string,
  opts: FailureOptions = {},
): void {
  const { delayMs, last } = countFailure(plugin, connection, decision, log, opts)
  const answer = () => {
    if (last) return disconnectAfterFailures(next)
    connection.respond(decision.reply.code, replyText(decision.reply), () => next(constants.ok))
  }
  if (delayMs) setTimeout(answer, delayMs)
  else answer()
}

/** max_failures reached: 421 4.7.0, and Haraka closes the connection. */
export function disconnectAfterFailures(next: Next): void {
  next(constants.denysoftdisconnect, replyText(REPLIES.AUTH_TOO_MANY_FAILURES))
}

/**
 * The success contract of Haraka's auth_base, which karma, relay and headers read. The
 * session is the verdict's `user`: the login's directory identity (lib/authn/identity), or for a
 * proxy login its authzid's; the login as the client wrote it is only logged.
 */
export function answerSuccess(
  plugin: AuthPlugin,
  connection: Connection,
  next: Next,
  mech: string,
  v: Verdict,
  limited?: { delayMs: number; limiter: string; note: string },
): void {
  // An OK verdict carries all three (lib/authn/verify).
  const [login, identity, user] = [v.login!, v.identity!, v.user!]
  recordAuthContract(connection, plugin, { pass: true, method: mech, user })
  const as = identity !== login ? ` as ${safeForLog(identity)}` : ''
  const acting = v.proxy ? ` acting as ${safeForLog(user)}` : ''
  const delayMs = limited?.delayMs ?? 0
  const tail = limited ? `; ${limited.note}${delayMs ? `, reply in ${delayMs} ms` : ''}` : ''
  const log = `AUTH ${mech} succeeded for ${safeForLog(login)}${as}${acting} (${v.reason}${tail})`
  const decision = verdictDecision(v)
  const auth: AuthAudit = { mechanism: mech, login, identity, startedAt: authCommand(connection)?.at }
  if (v.proxy) auth.actsAs = user
  if (v.server) auth.server = v.server
  if (limited) auth.limiter = limited.limiter
  record(connection, plugin, decision, { log, auth })
  if (v.proxy) record(connection, plugin, ACTING_AS_AUTHZID, { level: 'none' })
  // The session relays from the reply on (a limiter delay comes before it).
  const reply = () => {
    connection.relaying = true
    connection.respond(decision.reply.code, replyText(decision.reply), () => {
      connection.authheader = '(authenticated bits=0)\n'
      connection.auth_results(`auth=pass (${mech.toLowerCase()}) smtp.auth=${authResultsValue(user)}`)
      noteAuthenticated(connection, { user, method: mech, ...(v.proxy ? { login: identity } : {}) })
      next(constants.ok)
    })
  }
  if (delayMs) setTimeout(reply, delayMs)
  else reply()
}
