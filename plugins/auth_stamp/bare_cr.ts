// auth_stamp, every message (inbound and relayed): a bare CR (a CR that no LF follows) in the data is
// refused with 550 5.6.0, removed, or let through, as bare_cr says. Haraka hands each DATA line to
// transaction.add_data; the data hook wraps it for this one transaction, so each line is scanned
// once as it arrives and, with bare_cr=remove, stored without its bare CRs: the header parser and
// every later check see what is delivered. The verdict comes first at data_post, before any other
// plugin spends work (a directory lookup) on a message that is refused. Decisions: lib/stamp/bare_cr.
import constants from 'haraka-constants'
import type { Connection, Next, Transaction } from 'haraka'
import { record } from '../../haraka/record'
import { BareCrScan } from '../../lib/mail/bare_cr'
import { bareCrVerdict, NOT_SCANNED } from '../../lib/stamp/bare_cr'
import type { AuthStamp } from './plugin'

/** Runs before any other plugin's hook of the same name: an OK from one would skip the rest. */
export const BARE_CR_PRIORITY = -100

const scans = new WeakMap<Transaction, BareCrScan>()

/** DATA: scan this transaction's lines from here on, under the bare_cr in force now. */
export function watch_bare_cr(this: AuthStamp, next: Next, connection: Connection): void {
  const txn = connection.transaction
  if (txn && !scans.has(txn)) {
    const scan = new BareCrScan(this.cfg.bare_cr)
    const store = txn.add_data.bind(txn)
    txn.add_data = (line) => store(scan.next(typeof line === 'string' ? Buffer.from(line) : line))
    scans.set(txn, scan)
  }
  next()
}

/** End of data: refuse, or record what was removed or let through (on the message's results). */
export function bare_cr_gate(this: AuthStamp, next: Next, connection: Connection): void {
  const txn = connection.transaction
  if (!txn) return next()
  const scan = scans.get(txn)
  if (!scan) {
    // Only if a data hook ahead of watch_bare_cr answered OK; the message was not looked at.
    record(connection, this, NOT_SCANNED, { on: txn, level: 'none' })
    return next()
  }
  const verdict = bareCrVerdict(scan)
  if (verdict.action === 'none') return next()
  const { decision } = verdict
  if (verdict.action === 'refuse') {
    const log = `message refused: ${decision.detail}`
    return next(constants.deny, record(connection, this, decision, { on: txn, emit: true, log }))
  }
  const what = verdict.action === 'removed' ? 'removed' : 'delivered as sent with'
  const log = `${what} ${decision.detail} (bare_cr=${scan.mode})`
  // stamp_message's one results line per message shows it
  record(connection, this, decision, { on: txn, level: 'notice', log })
  next()
}
