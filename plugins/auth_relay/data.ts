// End of DATA, authenticated sessions: every From: address and the Sender:
// address must be the login's (its addresses, sub-addresses, send-as groups),
// and several From addresses need a Sender. header_alignment=refuse answers
// 550 5.7.1; add_sender replaces any Sender with the login's own address
// instead, as Exim's submission mode does. The fields are bounded first
// (identity_header_max_bytes/_addresses: 550 5.7.1 unparsed), the checks stop at
// the first address not owned, and no directory work starts once the hook has
// answered (its deadline inside Haraka's plugin timeout, 451) or the client left.
// A field with a malformed name is refused in both modes (a Sender cannot make it readable).
import constants from 'haraka-constants'
import type { Connection, Next, Transaction } from 'haraka'
import { hookDeadlineMs } from '../../lib/deadline'
import { safeForLog } from '../../lib/text'
import { toDsn } from '../../haraka/dsn'
import { endChain, nextOnce } from '../../haraka/next_once'
import { removeFields } from '../../haraka/header_edit'
import { DirectoryUnavailableError } from '../../lib/ldap/errors'
import { fieldName } from '../../lib/mail/fields'
import {
  addressCountProblem,
  addressesToCheck,
  identitySizeProblem,
  judgeAlignment,
  readIdentityHeaders,
  type Alignment,
  type BoundsProblem,
} from '../../lib/authz/headers'
import { REPLIES, type Reply } from '../../lib/replies'
import { authUser, CheckStopped, loginOwnership, type AuthRelay, type StopReason } from './state'

type Problem = Exclude<Alignment, { ok: true }>['problem'] | BoundsProblem['problem']

const PROBLEM_REPLY: Record<Problem, Reply> = {
  unparseable: REPLIES.HEADER_UNPARSEABLE,
  malformed_field_name: REPLIES.HEADER_MALFORMED_FIELD_NAME,
  from_not_owned: REPLIES.HEADER_FROM_NOT_OWNED,
  sender_not_owned: REPLIES.HEADER_SENDER_NOT_OWNED,
  sender_required: REPLIES.HEADER_SENDER_REQUIRED,
  too_large: REPLIES.HEADER_TOO_LARGE,
  too_many_addresses: REPLIES.HEADER_TOO_MANY_ADDRESSES,
}

export function header_gate(this: AuthRelay, next: Next, connection: Connection): void {
  const txn = connection.transaction
  const login = authUser(connection)
  if (!txn || !login || this.cfg.header_alignment === 'off') return next()
  const done = nextOnce(next)
  const ms = hookDeadlineMs(Infinity, this.timeout)
  const timer = Number.isFinite(ms)
    ? setTimeout(() => {
        if (done.called) return
        connection.results.add(this, { err: 'header(timeout)' })
        const why = `no verdict within ${ms} ms (plugin timeout ${this.timeout} s)`
        connection.logerror(this, `header check for ${safeForLog(login)}: ${why}: 451`)
        done(constants.denysoft, toDsn(REPLIES.DIRECTORY_TEMPFAIL))
      }, ms)
    : undefined
  const stop: StopReason = () => {
    if (done.called) return 'the hook has answered'
    if (connection.state >= constants.connection.state.DISCONNECTING) return 'the client disconnected'
    return undefined
  }
  const chain = judge(this, connection, login, txn, stop)
    .then(
      (reply) => (reply ? done(constants.deny, toDsn(reply)) : done()),
      (err: unknown) => {
        if (err instanceof CheckStopped || done.called) {
          // the hook has answered (or the client left): nothing more to record
          const why =
            err instanceof CheckStopped
              ? err.message
              : `after the hook had answered: ${(err as Error).message}`
          connection.lognotice(this, `header check for ${safeForLog(login)} stopped: ${why}`)
          return done(constants.denysoft, toDsn(REPLIES.DIRECTORY_TEMPFAIL))
        }
        const why =
          err instanceof DirectoryUnavailableError ? err.message : ((err as Error).stack ?? String(err))
        connection.results.add(this, { err: 'header(directory_unavailable)' })
        connection.logerror(this, `header check for ${safeForLog(login)} failed: ${why}`)
        done(constants.denysoft, toDsn(REPLIES.DIRECTORY_TEMPFAIL))
      },
    )
    .finally(() => clearTimeout(timer))
  endChain(
    chain,
    done,
    (m) => connection.logerror(this, `header check: ${m}`),
    constants.denysoft,
    toDsn(REPLIES.RELAY_INTERNAL_ERROR),
  )
}

async function judge(
  plugin: AuthRelay,
  connection: Connection,
  login: string,
  txn: Transaction,
  stop: StopReason,
): Promise<Reply | null> {
  const fields = txn.header.header_list
  const { identity_header_max_bytes: maxBytes, identity_header_max_addresses: maxAddresses } = plugin.cfg
  const bounds = { maxBytes, maxAddresses }
  const tooLarge = identitySizeProblem(fields, bounds)
  if (tooLarge) return unreadable(plugin, connection, login, tooLarge)
  const headers = readIdentityHeaders(fields)
  // A malformed field name is refused whatever the directory says: decided before any lookup.
  if (!headers.ok && headers.problem === 'malformed_field_name')
    return unreadable(plugin, connection, login, {
      problem: headers.problem,
      detail: safeForLog(headers.detail),
    })
  const tooMany = addressCountProblem(headers, bounds)
  if (tooMany) return unreadable(plugin, connection, login, tooMany)
  const ownership = loginOwnership(plugin, connection, login, stop)
  const entry = await ownership.owned()
  const owned = new Set<string>()
  if (entry.kind === 'found') {
    // The first address not owned decides the verdict; the ones after it would only cost searches.
    for (const address of addressesToCheck(headers)) {
      if (!(await ownership.owns(address)).owned) break
      owned.add(address)
    }
  }
  const stopped = stop()
  if (stopped) throw new CheckStopped(stopped)
  const verdict = judgeAlignment(headers, (a) => owned.has(a))
  if (verdict.ok) {
    connection.results.add(plugin, { pass: 'header(aligned)' })
    return null
  }
  connection.results.add(plugin, { fail: `header(${verdict.problem})` })
  const why = `${verdict.problem.replace(/_/g, ' ')}: ${safeForLog(verdict.detail)}`
  if (!plugin.cfg.enforce_sender) {
    connection.lognotice(
      plugin,
      `message would be refused (enforce_sender=false) for ${safeForLog(login)}: ${why}`,
    )
    return null
  }
  const primary = entry.kind === 'found' ? entry.primary : undefined
  if (plugin.cfg.header_alignment === 'add_sender' && primary) {
    const indexes = txn.header.header_list.flatMap((field, i) => (fieldName(field) === 'sender' ? [i] : []))
    removeFields(txn.header, indexes)
    txn.add_header('Sender', primary)
    connection.results.add(plugin, { pass: 'header(sender_added)' })
    connection.lognotice(
      plugin,
      `Sender: ${safeForLog(primary)} added for ${safeForLog(login)} (removed ${indexes.length} client Sender field(s)): ${why}`,
    )
    return null
  }
  connection.lognotice(plugin, `message refused for ${safeForLog(login)}: ${why}`)
  return PROBLEM_REPLY[verdict.problem]
}

/** Over a bound or a malformed name: refused with no lookup (enforce_sender=false: recorded, logged, let through). */
function unreadable(
  plugin: AuthRelay,
  connection: Connection,
  login: string,
  over: { problem: BoundsProblem['problem'] | 'malformed_field_name'; detail: string },
): Reply | null {
  connection.results.add(plugin, { fail: `header(${over.problem})` })
  const why = `${over.problem.replace(/_/g, ' ')}: ${over.detail}`
  const who = safeForLog(login)
  if (!plugin.cfg.enforce_sender) {
    connection.lognotice(plugin, `message would be refused (enforce_sender=false) for ${who}: ${why}`)
    return null
  }
  connection.lognotice(plugin, `message refused for ${who}: ${why}`)
  return PROBLEM_REPLY[over.problem]
}
