// End of DATA, authenticated sessions: header_alignment (lib/authz/alignment
// judgeHeaders). add_sender replaces any Sender with the login's own address
// instead of refusing, as Exim's submission mode does. No directory work
// starts once the hook has answered (its deadline inside Haraka's plugin
// timeout, 451, through lib/deadline settleWithin) or the client has left;
// what the check gives after that is logged and dropped.
import constants from 'haraka-constants'
import type { Connection, Next, Transaction } from 'haraka'
import { hookDeadlineMs, settleWithin } from '../../lib/deadline'
import { labelOf } from '../../lib/decisions'
import { safeForLog } from '../../lib/text'
import { toDsn } from '../../haraka/dsn'
import { nextOnce, type OnceNext } from '../../haraka/next_once'
import { removeFields } from '../../haraka/header_edit'
import { authUser } from '../../haraka/notes'
import { answer, record } from '../../haraka/record'
import { HEADER_TIMEOUT, judgeHeaders, SENDER_ADDED, type HeaderJudgement } from '../../lib/authz/alignment'
import { senderFieldIndexes } from '../../lib/authz/headers'
import { CheckStopped, type StopReason } from '../../lib/authz/ownership'
import { REPLIES } from '../../lib/replies'
import { checkFailed, loginOwnership, type AuthRelay } from './state'

export function header_gate(this: AuthRelay, next: Next, connection: Connection): void {
  const txn = connection.transaction
  const login = authUser(connection)
  if (!txn || !login || this.cfg.header_alignment === 'off') return next()
  const done = nextOnce(next)
  const who = safeForLog(login)
  const ms = hookDeadlineMs(Infinity, this.timeout)
  const stop: StopReason = () => {
    if (done.called) return 'the hook has answered'
    if (connection.state >= constants.connection.state.DISCONNECTING) return 'the client disconnected'
    return undefined
  }
  const { cfg } = this
  const policy = {
    enforce: cfg.enforce_sender,
    addSender: cfg.header_alignment === 'add_sender',
    bounds: { maxBytes: cfg.identity_header_max_bytes, maxAddresses: cfg.identity_header_max_addresses },
  }
  const ownership = loginOwnership(this, connection, login, stop)
  // A bug in our own handling: logged, and 451 if the hook has not answered yet.
  const guard = (fn: () => void) => {
    try {
      fn()
    } catch (err) {
      connection.logerror(this, `header check: internal error: ${(err as Error)?.stack ?? String(err)}`)
      done(constants.denysoft, toDsn(REPLIES.RELAY_INTERNAL_ERROR))
    }
  }
  const stopped = (why: string) => {
    connection.lognotice(this, `header check for ${who} stopped: ${why}`)
    done(constants.denysoft, toDsn(REPLIES.DIRECTORY_TEMPFAIL))
  }
  settleWithin(judgeHeaders(txn.header.header_list, ownership, policy, stop), ms, {
    value: (decision) => guard(() => settle(this, connection, done, who, txn, decision)),
    error: (err) =>
      guard(() => {
        if (err instanceof CheckStopped) return stopped(err.message)
        checkFailed(this, connection, done, 'header', `header check for ${who} failed`, err)
      }),
    timeout: () =>
      guard(() => {
        const why = `no verdict within ${ms} ms (plugin timeout ${this.timeout} s)`
        answer(done, connection, this, HEADER_TIMEOUT, { log: `header check for ${who}: ${why}: 451` })
      }),
    // after the 451: logged, never recorded, and the message is left as it is
    late: (settled) =>
      guard(() => {
        if (!('value' in settled)) {
          const err = settled.error
          return stopped(
            err instanceof CheckStopped
              ? err.message
              : `after the hook had answered: ${(err as Error).message}`,
          )
        }
        const verdict = labelOf(settled.value)
        connection.lognotice(
          this,
          `header check for ${who}: verdict ${verdict} came after the hook had answered: ignored`,
        )
      }),
  })
}

/** Record the verdict and answer; add_sender's repair is made here, on the message. */
function settle(
  plugin: AuthRelay,
  connection: Connection,
  done: OnceNext,
  who: string,
  txn: Transaction,
  decision: HeaderJudgement,
): void {
  if (decision.verdict !== 'fail') return answer(done, connection, plugin, decision, { level: 'none' })
  if (!decision.addSender) {
    const refused = decision.reply ? 'refused' : 'would be refused (enforce_sender=false)'
    return answer(done, connection, plugin, decision, {
      log: `message ${refused} for ${who}: ${decision.detail}`,
    })
  }
  record(connection, plugin, decision, { level: 'none' })
  const indexes = senderFieldIndexes(txn.header.header_list)
  removeFields(txn.header, indexes)
  txn.add_header('Sender', decision.addSender)
  const added = `Sender: ${safeForLog(decision.addSender)} added for ${who}`
  const log = `${added} (removed ${indexes.length} client Sender field(s)): ${decision.detail}`
  answer(done, connection, plugin, SENDER_ADDED, { log, level: 'notice' })
}
