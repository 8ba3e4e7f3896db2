// auth_stamp at the end of data (data_post), every message: remove what would impersonate our
// stamp (identity and stamp headers, A-R with our authserv-id, malformed field names), give
// Haraka's A-R one resinfo for the login, then stamp a message from an authenticated session
// (or, in verify mode, with a verified stamp): ./stamp. Decisions: lib/stamp/plan.
import constants from 'haraka-constants'
import type { Connection, Next } from 'haraka'
import { addressOf } from '../../haraka/address'
import { authMethod, authUser, dropAuthResultsClauses } from '../../haraka/notes'
import { hashMessageBody } from '../../haraka/body_hash'
import { toDsn } from '../../haraka/dsn'
import { removeFields } from '../../haraka/header_edit'
import { endChainOr, nextOnce } from '../../haraka/next_once'
import { recordSummary } from '../../haraka/record'
import { authPassClause, isAuthClause } from '../../lib/mail/auth_results'
import { REPLIES } from '../../lib/replies'
import type { StampConfig } from '../../lib/stamp/config'
import { inspectMessage, malformedFieldsNote, verifyNeedsBody, type Inspection } from '../../lib/stamp/plan'
import { stampDecision, StampSummary, verifyDecision } from '../../lib/stamp/results'
import type { AuthStamp } from './plugin'
import { stampMessage } from './stamp'

/** The answer when the chain breaks: made only then. */
const stampFailed = (): [number, unknown] => [constants.denysoft, toDsn(REPLIES.STAMP_FAILED)]

/** data_post: in verify mode a stamp is checked against the body, so that is hashed (streamed) first. */
export function stamp_message(this: AuthStamp, next: Next, connection: Connection): void {
  const txn = connection.transaction
  if (!txn) return next()
  const cfg = this.cfg
  let readBody = false
  try {
    const ctx = { login: authUser(connection), peerIp: connection.remote.ip }
    readBody = verifyNeedsBody(txn.header.header_list, cfg, ctx)
  } catch {
    // removeForged meets the same error where it strips, and refuses the message
  }
  if (!readBody) return removeForged(this, next, connection, cfg, undefined)
  const done = nextOnce(next)
  const chain = hashMessageBody(txn.message_stream)
    .catch((err: unknown) => {
      connection.logwarn(this, `cannot read the body to check the stamp: ${(err as Error).message}`)
      return undefined
    })
    .then((bodyHash) => removeForged(this, done, connection, cfg, bodyHash))
  endChainOr(chain, done, (m) => connection.logerror(this, m), stampFailed)
}

function removeForged(
  plugin: AuthStamp,
  next: Next,
  connection: Connection,
  cfg: StampConfig,
  bodyHash: string | undefined,
): void {
  const txn = connection.transaction
  if (!txn) return next()
  const login = authUser(connection)
  const mailFrom = addressOf(txn.mail_from)
  const now = Math.floor(Date.now() / 1000)
  let found: Inspection
  try {
    found = inspectMessage(txn.header.header_list, cfg, {
      login,
      mailFrom,
      authservId: connection.local.host.toLowerCase(),
      pendingAuthResults: connection.auth_results(),
      now,
      peerIp: connection.remote.ip,
      bodyHash,
    })
    removeFields(txn.header, found.remove)
    if (found.malformed.length) connection.lognotice(plugin, malformedFieldsNote(found)!)
  } catch (err) {
    // Fail closed: a message whose forged stamp headers could not be removed is not accepted.
    connection.logerror(plugin, `could not strip stamp headers: ${(err as Error).stack ?? String(err)}`)
    return next(constants.denysoft, toDsn(REPLIES.STAMP_FAILED))
  }
  const summary = new StampSummary()
  if (found.verdict) {
    summary.note(verifyDecision(found.verdict))
    if (!found.verdict.valid && found.verdict.reason !== 'no_stamp') {
      connection.lognotice(plugin, `stamp removed: ${found.verdict.reason}: ${found.verdict.detail}`)
    }
  }
  if (login) oneAuthResinfo(connection, login, cfg.auth_results_mailfrom ? mailFrom : '')
  const { identity } = found
  if (identity)
    return stampMessage(plugin, next, connection, { txn, cfg, found, identity, summary, mailFrom, now })
  summary.note(stampDecision('stamp', 'skip', 'unauthenticated'))
  recordSummary(txn, plugin, summary.entry(found))
  next()
}

/** One resinfo with smtp.auth and smtp.mailfrom, per transaction, instead of the session's auth= clause. */
function oneAuthResinfo(connection: Connection, login: string, mailFrom: string): void {
  dropAuthResultsClauses(connection, isAuthClause)
  const mechanism = authMethod(connection) ?? connection.results.get('auth')?.method
  connection.auth_results(authPassClause({ login, mechanism, mailFrom }))
}
