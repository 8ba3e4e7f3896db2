// How ldap_auth ends an AUTH attempt in a Haraka session: the success contract
// of Haraka's auth_base, and failures counted per session with a growing delay
// (a timer, never blocking) and 421 + disconnect once max_failures is reached.
import constants from 'haraka-constants'
import type { Connection, Next, Plugin } from 'haraka'
import { failureDelayMs, type AuthConfig } from '../../lib/authn/config'
import { safeForLog } from '../../lib/text'
import type { Outcome } from '../../lib/authn/verify'
import type { ServerEvent } from '../../lib/ldap/servers'
import { REPLIES, replyText, type Reply } from '../../lib/replies'
import { authResultsValue } from '../../lib/mail/auth_results'

export interface AuthPlugin extends Plugin {
  cfg: AuthConfig
}

const OUTCOME_REPLY: Record<Outcome, Reply> = {
  OK: REPLIES.AUTH_OK,
  PASSWORD_MISMATCH: REPLIES.AUTH_FAILED,
  USER_UNKNOWN: REPLIES.AUTH_FAILED,
  AMBIGUOUS: REPLIES.AUTH_FAILED,
  EMPTY_PASSWORD: REPLIES.AUTH_FAILED,
  INVALID_LOGIN: REPLIES.AUTH_FAILED,
  ACCOUNT_REFUSED: REPLIES.AUTH_FAILED,
  AUTHZID_REFUSED: REPLIES.AUTH_FAILED,
  DIRECTORY_DOWN: REPLIES.AUTH_TEMPFAIL,
}

/** Only OK is 235 and only an outage is 454: every refusal is the same 535 5.7.8 (no probing). */
export function replyFor(outcome: Outcome): Reply {
  return OUTCOME_REPLY[outcome]
}

export function logServerEvent(plugin: Plugin, e: ServerEvent): void {
  if (e.up) plugin.lognotice(`directory server ${e.url} is up again: ${e.reason}`)
  else plugin.logwarn(`directory server ${e.url} marked down: ${e.reason}`)
}

/**
 * Count one failed attempt. Returns the reply to give (after `delayMs`), or
 * the 421 when this failure reaches max_failures (the connection then closes).
 */
export function countFailure(
  plugin: AuthPlugin,
  connection: Connection,
  label: string,
  log: string,
  opts: FailureOptions = {},
): { delayMs: number; last: boolean } {
  const n = (connection.notes.auth_fails = (Number(connection.notes.auth_fails) || 0) + 1)
  const last = n >= plugin.cfg.max_failures
  const delayMs =
    opts.delay === false
      ? 0
      : Math.max(0, Math.min(failureDelayMs(plugin.cfg, n), opts.maxDelayMs ?? Infinity))
  connection.results.add(plugin, { fail: label, emit: true })
  const tail = `${delayMs ? `, reply in ${delayMs} ms` : ''}${last ? ', too many failures: closing the connection' : ''}`
  connection.lognotice(plugin, `${log} (failure ${n} of ${plugin.cfg.max_failures}${tail})`)
  return { delayMs, last }
}

export interface FailureOptions {
  /** false: answer at once (an outage is not the client's doing) */
  delay?: boolean
  /** the delay never exceeds this (the time left before the AUTH deadline) */
  maxDelayMs?: number
}

/** Answer a failed attempt: its own reply, or 421 4.7.0 and disconnect when it was the last allowed. */
export function answerFailure(
  plugin: AuthPlugin,
  connection: Connection,
  next: Next,
  reply: Reply,
  label: string,
  log: string,
  opts: FailureOptions = {},
): void {
  const { delayMs, last } = countFailure(plugin, connection, label, log, opts)
  const answer = () => {
    if (last) return next(constants.denysoftdisconnect, replyText(REPLIES.AUTH_TOO_MANY_FAILURES))
    connection.respond(reply.code, replyText(reply), () => next(constants.ok))
  }
  if (delayMs) setTimeout(answer, delayMs)
  else answer()
}

/**
 * The success contract of Haraka's auth_base, which karma, relay and headers read. The
 * session is `who.user`: the login's directory identity (lib/authn/identity), or for a
 * proxy login its authzid's; the login as the client wrote it is only logged.
 */
export function answerSuccess(
  plugin: AuthPlugin,
  connection: Connection,
  next: Next,
  mech: string,
  who: { login: string; identity: string; user: string; proxy: boolean; reason: string },
): void {
  connection.relaying = true
  connection.results.add({ name: 'relay' }, { pass: plugin.name })
  connection.results.add({ name: 'auth' }, { pass: plugin.name, method: mech, user: who.user })
  connection.results.add(plugin, { pass: `authn(${who.reason})` })
  if (who.proxy) connection.results.add(plugin, { pass: 'authz(proxy)' })
  const as = who.identity !== who.login ? ` as ${safeForLog(who.identity)}` : ''
  const acting = who.proxy ? ` acting as ${safeForLog(who.user)}` : ''
  const line = `AUTH ${mech} succeeded for ${safeForLog(who.login)}${as}${acting} (${who.reason})`
  connection.loginfo(plugin, line)
  connection.respond(REPLIES.AUTH_OK.code, replyText(REPLIES.AUTH_OK), () => {
    connection.authheader = '(authenticated bits=0)\n'
    connection.auth_results(`auth=pass (${mech.toLowerCase()}) smtp.auth=${authResultsValue(who.user)}`)
    connection.notes.auth_user = who.user
    connection.notes.auth_method = mech
    if (who.proxy) connection.notes.auth_login = who.identity
    next(constants.ok)
  })
}
