// The one place a decision is written down: its results label (haraka-results,
// which karma, the headers plugin and Redis subscribers read), one log line on
// the session, the metrics (haraka/metrics), the audit line, and the DSN the hook
// answers with. Every results.add of our plugins goes through here, so metrics and
// the audit trail have one home.
import constants from 'haraka-constants'
import type { Connection, Next, Plugin, Transaction } from 'haraka'
import { auditJson, clientText, AUDIT_PREFIX, type AuditEvent } from '../lib/audit'
import { labelOf, type Decision, type PluginName, type Verdict } from '../lib/decisions'
import { writeAuditFile } from './audit_file'
import { countDecision, countSummary } from './metrics'
import { toDsn } from './dsn'
import { authUser } from './notes'

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
  /** an AUTH decision (ldap_auth): what the audit line says of the attempt; its presence makes the line */
  auth?: AuthAudit
}

/** What an AUTH decision's audit line says of the attempt (never a credential: there is no field for one). */
export interface AuthAudit {
  /** the SASL mechanism, as the client named it */
  mechanism?: string
  /** the login as the client gave it */
  login?: string
  /** on success: the login's directory identity, and the authzid a proxy login acts as */
  identity?: string
  actsAs?: string
  /** Date.now() at the AUTH command */
  startedAt?: number
  /** the directory server that answered */
  server?: string
  /** what the AUTH limiter did (lib/limiter/policy LimiterAction) */
  limiter?: string
}

/**
 * Where audit lines go (ldap_auth.ini `audit`, `audit_file`): one setting per
 * process, which ldap_auth sets at every load. Until then, and by default, Haraka's log.
 */
export interface AuditSink {
  mode: 'log' | 'file' | 'off'
  file?: string
}
let auditSink: AuditSink = { mode: 'log' }

export function setAuditSink(sink: AuditSink): void {
  auditSink = sink
}

/** The plugins whose fail and err decisions are policy refusals, audited (ldap_auth's AUTH decisions are, through `auth`). */
const POLICY_PLUGINS: ReadonlySet<PluginName> = new Set(['auth_relay', 'auth_stamp'])

/** Whether a decision gets an audit line: every AUTH decision, and every policy refusal. */
export function isAudited(decision: Pick<Decision, 'plugin' | 'verdict'>, auth?: AuthAudit): boolean {
  if (auth) return true
  return POLICY_PLUGINS.has(decision.plugin) && (decision.verdict === 'fail' || decision.verdict === 'err')
}

/** The audit event of a decision on this session. */
export function auditEvent(connection: Connection, decision: Decision, auth?: AuthAudit): AuditEvent {
  // Read defensively: a test double or an odd connection may lack any of these; an audit line never throws.
  const tls = (connection.tls ?? {}) as { enabled?: boolean; cipher?: { version?: unknown } }
  const version = tls.cipher?.version
  const mech = auth ? auth.mechanism : connection.notes?.auth_method
  return {
    time: new Date().toISOString(),
    session: connection.uuid ?? null,
    client_ip: connection.remote?.ip ?? null,
    local_port: typeof connection.local?.port === 'number' ? connection.local.port : null,
    tls: Boolean(tls.enabled),
    tls_protocol: tls.enabled && typeof version === 'string' ? version : null,
    login: auth ? clientText(auth.login) : null,
    identity: clientText(auth ? auth.identity : connection.notes ? authUser(connection) : undefined),
    acts_as: auth ? clientText(auth.actsAs) : null,
    mechanism: typeof mech === 'string' && mech ? mech : null,
    plugin: decision.plugin,
    outcome: decision.verdict,
    rule: decision.rule,
    reason: decision.reason,
    label: labelOf(decision),
    code: decision.reply?.code ?? null,
    enhanced_code: decision.reply?.enh ?? null,
    server: auth?.server ?? null,
    elapsed_ms: auth?.startedAt === undefined ? null : Math.max(0, Date.now() - auth.startedAt),
    limiter: auth?.limiter ?? null,
  }
}

function writeAudit(connection: Connection, plugin: Plugin, decision: Decision, auth?: AuthAudit): void {
  const sink = auditSink
  if (sink.mode === 'off' || !isAudited(decision, auth)) return
  let json: string
  try {
    json = auditJson(auditEvent(connection, decision, auth))
  } catch (err) {
    // A bug here must not break the hook that decided; the decision's own line is logged already.
    connection.logerror(plugin, `audit line for ${labelOf(decision)} not written: ${(err as Error).message}`)
    return
  }
  if (sink.mode === 'file' && sink.file && writeAuditFile(sink.file, json)) return
  connection.lognotice(plugin, AUDIT_PREFIX + json)
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
  countDecision(decision, opts.auth)
  writeAudit(connection, plugin, decision, opts.auth)
  return decision.reply ? toDsn(decision.reply) : undefined
}

/**
 * A decision made outside any session (an outbound hook: a bounce has no
 * connection and no results store): its metrics, and its log line on the plugin at the level of its verdict.
 */
export function recordWithoutSession(
  plugin: Plugin,
  decision: Decision,
  opts: Pick<RecordOptions, 'log'> = {},
): void {
  countDecision(decision)
  const level = LEVEL[decision.verdict]
  const label = labelOf(decision)
  plugin[`log${level}`](opts.log ? `${label} ${opts.log}` : `${label} ${decision.detail ?? ''}`.trim())
}

/** A summary entry on the transaction (one per message, e.g. auth_stamp's), logged through `emit`. */
export function recordSummary(
  transaction: Transaction,
  plugin: Plugin,
  summary: Record<string, unknown>,
): void {
  add(transaction, plugin, { ...summary, emit: true })
  countSummary(plugin.name, summary)
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

/** The next() code of a reply: 5xx is DENY, 4xx DENYSOFT. */
export function replyCode(reply: { code: number }): number {
  return reply.code >= 500 ? constants.deny : constants.denysoft
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
  if (decision.reply) next(replyCode(decision.reply), dsn)
  else if (accept === undefined) next()
  else next(accept)
}
