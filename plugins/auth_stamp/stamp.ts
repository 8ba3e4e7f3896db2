// auth_stamp, one message whose identity is known (./message found it): a submission's missing
// Date and Message-ID, the identity header (the login, or its primary address), and in sign mode
// the signed stamp over the fields and the body. Each step goes into the message's one results
// entry. A bug here lets the message go on unstamped: the forged fields are gone by now.
import type { Connection, Next, Transaction } from 'haraka'
import { hashMessageBody } from '../../haraka/body_hash'
import { endChain, nextOnce } from '../../haraka/next_once'
import { recordSummary } from '../../haraka/record'
import { hookDeadlineMs } from '../../lib/deadline'
import type { StampConfig } from '../../lib/stamp/config'
import { identityFor } from '../../lib/stamp/identity'
import { headersToAdd, missingSubmissionFields, signPlan, type Inspection } from '../../lib/stamp/plan'
import { addedDecision, stampDecision, type StampSummary } from '../../lib/stamp/results'
import { safeForLog } from '../../lib/text'
import type { AuthStamp } from './plugin'

export interface Stamping {
  txn: Transaction
  cfg: StampConfig
  found: Inspection
  identity: NonNullable<Inspection['identity']>
  summary: StampSummary
  mailFrom: string
  now: number
}

export function stampMessage(plugin: AuthStamp, next: Next, connection: Connection, s: Stamping): void {
  const { txn } = s
  const done = nextOnce(next)
  const chain = stamp(plugin, connection, s)
    .catch((err: unknown) => {
      // A bug, not an outage (identityFor falls back to the login): the message still goes through.
      connection.logerror(plugin, `stamping failed: ${(err as Error).stack ?? String(err)}`)
      s.summary.note(stampDecision('stamp', 'err', 'internal_error'))
    })
    .then(() => recordSummary(txn, plugin, s.summary.entry(s.found)))
  // A bug in the bookkeeping lets the message go on (CONT) as well.
  endChain(
    chain.then(() => done()),
    done,
    (m) => connection.logerror(plugin, m),
  )
}

async function stamp(plugin: AuthStamp, connection: Connection, s: Stamping): Promise<void> {
  const { txn, cfg, identity, summary, now } = s
  // RFC 6409 §8.2, §8.3: a submission gets the Date and Message-ID it lacks, before it is signed.
  if (identity.source === 'session' && cfg.add_date_message_id) {
    const added = missingSubmissionFields(txn.header.header_list, { host: connection.local.host, now })
    for (const h of added) {
      txn.add_header(h.name, h.value)
      summary.note(addedDecision(h))
    }
    if (added.length)
      connection.loginfo(plugin, `added ${added.map((h) => `${h.name}: ${h.value}`).join(', ')} (missing)`)
  }
  // Inside Haraka's plugin timeout, whatever the directory's own timeouts add up to (as auth_relay's header gate).
  const budgetMs = hookDeadlineMs(Infinity, plugin.timeout)
  const directory = plugin.dirCfg && { handle: plugin.directory, mode: plugin.dirCfg.mode }
  const id = await identityFor(cfg, identity.login, directory, budgetMs)
  summary.note(id.decision)
  if (id.fallback) {
    const who = safeForLog(identity.login)
    connection.logwarn(plugin, `identity for ${who}: ${id.fallback}; stamping the login`)
  }
  const plan = signPlan(cfg, identity, txn.header.header_list)
  let bodyHash: string | undefined
  if (plan.obstacle) {
    summary.note(stampDecision('sign', 'fail', plan.obstacle))
    connection.lognotice(plugin, plan.detail!)
  } else if (plan.sign) {
    try {
      bodyHash = await hashMessageBody(txn.message_stream)
    } catch (err) {
      summary.note(stampDecision('sign', 'err', 'body_unreadable'))
      connection.logerror(plugin, `not signed: cannot read the body: ${(err as Error).message}`)
    }
  }
  const fields = txn.header.header_list
  const opts = { identityValue: id.value, identity, mailFrom: s.mailFrom, fields, now, bodyHash }
  for (const h of headersToAdd(cfg, opts)) txn.add_leading_header(h.name, h.value)
  summary.note(
    stampDecision('stamp', 'pass', identity.source === 'stamp' ? 'identity_from_stamp' : 'identity'),
  )
  if (plan.sign && bodyHash !== undefined) summary.note(stampDecision('stamp', 'pass', 'signed'))
}
