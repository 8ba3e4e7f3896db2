// The one place a decision is written down: its results label (haraka-results,
// which karma, the headers plugin and Redis subscribers read), one log line on
// the session, and the DSN the hook answers with. Every results.add of our
// plugins goes through here, so metrics and the audit trail have one home.
import constants from 'haraka-constants'
import type { Connection, Next, Plugin, Transaction } from 'haraka'
import { labelOf, type Decision, type Verdict } from '../lib/decisions'
import { toDsn } from './dsn'

type Level = 'info' | 'notice' | 'warn' | 'error'
type ResultsOwner = Pick<Connection, 'results'> | Pick<Transaction, 'results'>

const LEVEL: Record<Verdict, Level> = { pass: 'info', skip: 'info', fail: 'notice', err: 'error' }

/** The only call of results.add in our plugins. */
function add(owner: ResultsOwner, plugin: Plugin | { name: string }, entry: Record<string, unknown>): void {
  owner.results.add(plugin, entry)
}

export interface RecordOptions {
  /** publish the results entry to the log as well (haraka-results `emit`) */
  emit?: boolean
  /** the log line's level; default by verdict (fail: notice, err: error, else info); 'none': no line */
  level?: Level | 'none'
  /** the log line, instead of `<label> <detail>` */
  log?: string
  /** where the results entry goes: the connection, or its transaction for a decision about one message */
  on?: ResultsOwner
}

/**
 * Record a decision on the connection: the results label, one log line, and the
 * DSN of its reply (undefined when it has none) for next(code, dsn).
 */
export function record(
  connection: Connection,
  plugin: Plugin,
  decision: Decision,
  opts: RecordOptions = {},
): unknown {
  const label = labelOf(decision)
  add(opts.on ?? connection, plugin, { [decision.verdict]: label, ...(opts.emit ? { emit: true } : {}) })
  const level = opts.level ?? LEVEL[decision.verdict]
  if (level !== 'none') {
    const line = opts.log ?? (decision.detail ? `${label} ${decision.detail}` : label)
    connection[`log${level}`](plugin, line)
  }
  return decision.reply ? toDsn(decision.reply) : undefined
}

/** A summary entry on the transaction (one per message, e.g. auth_stamp's), logged through `emit`. */
export function recordSummary(
  transaction: Transaction,
  plugin: Plugin,
  summary: Record<string, unknown>,
): void {
  add(transaction, plugin, { ...summary, emit: true })
}

/**
 * The results contract of Haraka's auth_base (karma, relay and headers read it):
 * `auth` {pass|fail, method, user} and, on success, `relay` {pass}.
 */
export function recordAuthContract(
  connection: Connection,
  plugin: Plugin,
  result: { pass: true; method: string; user: string } | { pass: false; method: string },
): void {
  if (result.pass) {
    add(connection, { name: 'relay' }, { pass: plugin.name })
    add(connection, { name: 'auth' }, { pass: plugin.name, method: result.method, user: result.user })
  } else {
    add(connection, { name: 'auth' }, { fail: `${plugin.name}/${result.method}` })
  }
}

/**
 * Record a decision and answer the hook with it: its reply (a 5xx as DENY, a
 * 4xx as DENYSOFT), or, when it has none, `next(accept)` (no code: CONT).
 */
export function answer(
  next: Next,
  connection: Connection,
  plugin: Plugin,
  decision: Decision,
  opts: RecordOptions = {},
  accept?: number,
): void {
  const dsn = record(connection, plugin, decision, opts)
  if (decision.reply) next(decision.reply.code >= 500 ? constants.deny : constants.denysoft, dsn)
  else if (accept === undefined) next()
  else next(accept)
}
