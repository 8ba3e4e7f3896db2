// The directory's verdict on one AUTH attempt within its deadline (./attempt
// asked the limiter first), then, with the limiter, its bookkeeping of the
// verdict (./limit), then the answer (./outcome). A verdict later than the
// deadline is logged and dropped: it never replies, and never sets auth_user or relaying.
import type { Connection } from 'haraka'
import { createAuthenticator } from '../../lib/authn/authenticator'
import { AUTH_TIMED_OUT, verdictDecision } from '../../lib/authn/decide'
import type { Credentials } from '../../lib/authn/sasl'
import type { Verdict } from '../../lib/authn/verify'
import { settleWithin } from '../../lib/deadline'
import { labelOf } from '../../lib/decisions'
import { safeForLog } from '../../lib/text'
import type { OnceNext } from '../../haraka/next_once'
import { noteLoginEntry, sessionAttributes } from '../../haraka/notes'
import { recordAuthContract } from '../../haraka/record'
import type { AttemptPlugin } from './attempt'
import type { LimitSession, Settled } from './limit'
import { answerFailure, answerSuccess } from './outcome'

/** The verdict within the deadline, then (with the limiter) its bookkeeping, then the answer. */
export function verifyWithin(
  plugin: AttemptPlugin,
  connection: Connection,
  answer: OnceNext,
  credentials: Credentials,
  started: number,
  deadlineMs: number,
  internalError: (err: unknown) => void,
  limit?: LimitSession,
): void {
  const { mech, authcid } = credentials
  const who = safeForLog(authcid)
  const left = () => deadlineMs - (Date.now() - started)
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
  // On success, the entry the search found, so auth_relay need not search for it again (lib/ldap/login_entry).
  const noteEntry = (v: Verdict) => {
    const { found } = v
    const key = dirCfg.loginKey
    noteLoginEntry(connection, found && !v.proxy ? { key, login: v.login!, ...found } : undefined)
  }
  const fail = (v: Verdict, settled?: Settled) => {
    recordAuthContract(connection, plugin, { pass: false, method: mech })
    const note = settled ? `; ${settled.note}` : ''
    const log = `AUTH ${mech} failed for ${who}: ${labelOf(v)}${v.detail ? ` ${v.detail}` : ''}${note}`
    // An outage is not the client's doing: counted, but answered without the delay.
    // No delay outlives the deadline.
    answerFailure(plugin, connection, answer, verdictDecision(v), log, {
      delay: v.outcome !== 'DIRECTORY_DOWN',
      maxDelayMs: left(),
      limiterDelayMs: settled?.delayMs,
      auth: {
        login: authcid,
        ...(v.server ? { server: v.server } : {}),
        ...(settled ? { limiter: settled.action } : {}),
      },
    })
  }
  settleWithin(authenticator.verify(credentials), left(), {
    value(v: Verdict) {
      if (v.outcome === 'OK') noteEntry(v)
      if (!limit) return v.outcome === 'OK' ? answerSuccess(plugin, connection, answer, mech, v) : fail(v)
      if (v.outcome === 'OK') {
        limit
          .afterSuccess(left(), v.user)
          .then((s) => {
            const limited = {
              delayMs: Math.max(0, Math.min(s.delayMs, left())),
              limiter: s.action,
              note: s.note,
            }
            answerSuccess(plugin, connection, answer, mech, v, limited)
          })
          .catch(internalError)
        return
      }
      // An outage is not a guess: the limiter does not count it.
      if (v.outcome === 'DIRECTORY_DOWN') return fail(v)
      limit
        .afterFailure(left())
        .then((s) => fail(v, s))
        .catch(internalError)
    },
    error: internalError,
    timeout() {
      recordAuthContract(connection, plugin, { pass: false, method: mech })
      const log = `AUTH ${mech} failed for ${who}: authn(timeout) no verdict within ${deadlineMs} ms (auth_timeout, plugin timeout ${plugin.timeout} s)`
      answerFailure(plugin, connection, answer, AUTH_TIMED_OUT, log, {
        delay: false,
        auth: { login: authcid },
      })
    },
    late(settled) {
      if ('error' in settled)
        connection.logerror(
          plugin,
          `AUTH ${mech} error for ${who}: ${String((settled.error as Error)?.stack ?? settled.error)}`,
        )
      const verdict = 'value' in settled ? labelOf(settled.value) : 'internal error'
      const after = `came after ${Date.now() - started} ms, when 454 had been answered: ignored`
      connection.lognotice(plugin, `AUTH ${mech} for ${who}: verdict ${verdict} ${after}`)
    },
  })
}
