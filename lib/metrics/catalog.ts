// Every metric the plugins export, in one table (name, type, help, labels), and the
// pure mapping from a recorded Decision to the metric updates it makes. haraka/metrics
// turns the table into prom-client metrics and applies the updates; haraka/record
// calls it for every decision (the one chokepoint), the directory layer reports its
// requests through lib/ldap/observer. Prometheus naming: unit suffixes, `_total` on
// counters, and never a login or an address as a label value: every label here takes
// its values from a closed set (a results reason, a configured server URL, a mechanism
// we offer), so the number of series stays bounded whatever clients send.
import type { Decision } from '../decisions'
import type { AuthnReason, AuthzReason } from '../authn/verify'
import type { ExchangeReason } from '../authn/sasl'

export type MetricType = 'counter' | 'gauge' | 'histogram'

/** How the master sums a metric over Haraka's workers (prom-client's aggregators). */
export type Aggregator = 'sum' | 'min' | 'max' | 'first'

export interface MetricSpec {
  readonly name: string
  readonly type: MetricType
  readonly help: string
  readonly labels: readonly string[]
  /** histograms: upper bounds, seconds */
  readonly buckets?: readonly number[]
  /** across workers; default sum */
  readonly aggregator?: Aggregator
}

const AUTH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const
const LDAP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

export const METRICS = [
  {
    name: 'haraka_auth_attempts_total',
    type: 'counter',
    help: 'AUTH attempts by SASL mechanism and result (Dovecot passdb-style results)',
    labels: ['mechanism', 'result'],
  },
  {
    name: 'haraka_auth_duration_seconds',
    type: 'histogram',
    help: 'Time from the AUTH command to the decision, by result (before any failure delay)',
    labels: ['result'],
    buckets: AUTH_BUCKETS,
  },
  {
    name: 'haraka_decisions_total',
    type: 'counter',
    help: 'Every recorded decision, by plugin, results rule and verdict (pass, fail, skip, err)',
    labels: ['plugin', 'rule', 'verdict'],
  },
  {
    name: 'haraka_ldap_requests_total',
    type: 'counter',
    help: 'LDAP requests by server, operation and outcome',
    labels: ['server', 'operation', 'outcome'],
  },
  {
    name: 'haraka_ldap_request_duration_seconds',
    type: 'histogram',
    help: 'LDAP request duration by server and operation',
    labels: ['server', 'operation'],
    buckets: LDAP_BUCKETS,
  },
  {
    name: 'haraka_ldap_server_up',
    type: 'gauge',
    help: 'Whether a directory server is considered up (1) or marked down (0); the lowest over workers',
    labels: ['server'],
    aggregator: 'min',
  },
  {
    name: 'haraka_ldap_pool_connections',
    type: 'gauge',
    help: 'Directory connections by pool (service, bind) and state (busy, idle), and callers waiting for one',
    labels: ['pool', 'state'],
  },
  {
    name: 'haraka_auth_cache_lookups_total',
    type: 'counter',
    help: 'Credential cache lookups by outcome',
    labels: ['outcome'],
  },
  {
    name: 'haraka_limiter_decisions_total',
    type: 'counter',
    help: 'Rate limiter decisions (results rule `limit`) by plugin, reason and verdict',
    labels: ['plugin', 'reason', 'verdict'],
  },
  {
    name: 'haraka_limiter_active_bans',
    type: 'gauge',
    help: 'Bans in force now (as the limiter reports them)',
    labels: [],
    aggregator: 'max',
  },
  {
    name: 'haraka_shared_state_up',
    type: 'gauge',
    help: "Whether the abuse limits' store answers (1; always for store=memory) or Redis is unavailable and this process answers alone or refuses (0); the lowest over workers",
    labels: [],
    aggregator: 'min',
  },
  {
    name: 'haraka_shared_state_batches_total',
    type: 'counter',
    help: "Batches of the abuse limits' state by what answered them: redis, memory (store=memory, or the fallback while Redis is unavailable), refused (on_failure=closed)",
    labels: ['answered_by'],
  },
  {
    name: 'haraka_shared_state_round_trips_total',
    type: 'counter',
    help: 'Commands sent to Redis for those batches: one EVALSHA each, one more when the script had to be sent again',
    labels: [],
  },
  {
    name: 'haraka_containment_actions_total',
    type: 'counter',
    help: 'Containment actions (results rule `contain`) by reason and verdict',
    labels: ['reason', 'verdict'],
  },
  {
    name: 'haraka_sender_checks_total',
    type: 'counter',
    help: 'Sender checks (MAIL FROM: rule sender; From/Sender headers: header; MAIL AUTH=: mail_auth) by reason and result',
    labels: ['check', 'reason', 'result'],
  },
  {
    name: 'haraka_relay_refusals_total',
    type: 'counter',
    help: 'Refused recipients (rule rcpt) and refused MAIL on a submission port (rule mail), by rule and reason',
    labels: ['rule', 'reason'],
  },
  {
    name: 'haraka_stamps_added_total',
    type: 'counter',
    help: 'Messages stamped with the authenticated identity',
    labels: [],
  },
  {
    name: 'haraka_stamp_forged_removed_total',
    type: 'counter',
    help: 'Client-supplied copies of the stamp (and look-alike fields) removed from messages',
    labels: [],
  },
  {
    name: 'haraka_ldap_submission_build_info',
    type: 'gauge',
    help: 'Always 1: the plugins version, and the Node and Haraka versions they run on',
    labels: ['version', 'node_version', 'haraka_version'],
    aggregator: 'first',
  },
] as const satisfies readonly MetricSpec[]

export type MetricName = (typeof METRICS)[number]['name']

/** The series names a query may use: every metric's, and a histogram's _bucket, _sum and _count. */
export function exportedSeriesNames(): Set<string> {
  const names = new Set<string>()
  for (const m of METRICS as readonly MetricSpec[]) {
    names.add(m.name)
    if (m.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s)
  }
  return names
}

// ---- AUTH results ---------------------------------------------------------------

/**
 * The `result` of haraka_auth_attempts_total, as detailed as Dovecot's passdb results, plus
 * three it has no word for: a refused authzid (proxy logins), an entry that cannot be used
 * (its identity or account state could not be told), and a bug.
 */
export const AUTH_RESULTS = [
  'success',
  'bad_credentials',
  'unknown_user',
  'disabled',
  'not_in_group',
  'expired',
  'locked',
  'directory_unavailable',
  'rate_limited',
  'protocol_error',
  'aborted',
  'authzid_refused',
  'account_unusable',
  'internal_error',
] as const

export type AuthResult = (typeof AUTH_RESULTS)[number]

/** authn(<reason>) → result */
export const AUTHN_RESULTS = {
  bind_ok: 'success',
  cache_ok: 'success',
  cache_ok_directory_down: 'success',
  local_ok: 'success',
  local_ok_directory_down: 'success',
  invalid_credentials: 'bad_credentials',
  empty_password: 'bad_credentials',
  no_such_user: 'unknown_user',
  // no single entry for the login: to the client, as good as unknown (the log says why)
  filter_matched_several_entries: 'unknown_user',
  empty_login: 'protocol_error',
  login_too_long: 'protocol_error',
  control_characters: 'protocol_error',
  directory_busy: 'directory_unavailable',
  directory_unavailable: 'directory_unavailable',
  timeout: 'directory_unavailable',
  internal_error: 'internal_error',
} as const satisfies Record<AuthnReason, AuthResult>

/** authz(<reason>) → result (authz(proxy) is no attempt of its own: it sits beside the success) */
export const AUTHZ_RESULTS = {
  account_disabled: 'disabled',
  ad_account_disabled: 'disabled',
  ad_account_locked: 'locked',
  ppolicy_locked: 'locked',
  account_expired: 'expired',
  not_in_required_group: 'not_in_group',
  account_state_unreadable: 'account_unusable',
  account_state_invalid: 'account_unusable',
  identity_unknown: 'account_unusable',
  ignored_login_text: 'account_unusable',
  authzid_not_permitted: 'authzid_refused',
  proxy_login_not_unique: 'authzid_refused',
  authzid_unknown: 'authzid_refused',
  ignored_authzid_text: 'authzid_refused',
  invalid_authzid: 'authzid_refused',
  proxy: 'success',
} as const satisfies Record<AuthzReason, AuthResult>

/** auth(<reason>): the SASL exchange refused a line, or the client left it */
export const EXCHANGE_RESULTS = {
  no_tls: 'protocol_error',
  syntax: 'protocol_error',
  already_authenticated: 'protocol_error',
  in_transaction: 'protocol_error',
  unknown_mechanism: 'protocol_error',
  bad_base64: 'protocol_error',
  bad_utf8: 'protocol_error',
  malformed_plain: 'protocol_error',
  empty_authcid: 'protocol_error',
  control_characters: 'protocol_error',
  cancelled: 'aborted',
  abandoned: 'aborted',
} as const satisfies Record<ExchangeReason, AuthResult>

/** The reason tables above, by the rule of the AUTH decision they read. */
const RESULTS_BY_RULE: Readonly<Record<string, Readonly<Record<string, AuthResult>>>> = {
  authn: AUTHN_RESULTS,
  authz: AUTHZ_RESULTS,
  auth: EXCHANGE_RESULTS,
}

/**
 * The result of one AUTH decision. The rate limiter's refusal (rule `limit`) is
 * rate_limited; a rule or reason this table does not know (a newer plugin's) is
 * counted by its verdict, never a crash: pass as success, anything else internal_error.
 */
export function authResultOf(d: { rule: string; reason: string; verdict: string }): AuthResult {
  const byRule = Object.hasOwn(RESULTS_BY_RULE, d.rule) ? RESULTS_BY_RULE[d.rule] : undefined
  if (byRule && Object.hasOwn(byRule, d.reason)) return byRule[d.reason]!
  if (d.rule === 'limit' && d.verdict !== 'pass') return 'rate_limited'
  return d.verdict === 'pass' ? 'success' : 'internal_error'
}

// ---- decisions → updates --------------------------------------------------------

export type Labels = Record<string, string>

export type MetricUpdate =
  | { kind: 'inc'; name: MetricName; labels: Labels; by?: number }
  | { kind: 'observe'; name: MetricName; labels: Labels; value: number }

/** What the record chokepoint knows of an AUTH decision besides the decision. */
export interface AuthContext {
  /** the mechanism the client named */
  mechanism?: string
  /** seconds since the AUTH command */
  seconds?: number
}

/** Mechanisms we may offer: any other name a client sends is `other` (a label never takes client text). */
const MECHANISMS: ReadonlySet<string> = new Set(['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2', 'OAUTHBEARER'])

export function mechanismLabel(mech: string | undefined): string {
  if (!mech) return 'none'
  const up = mech.toUpperCase()
  return MECHANISMS.has(up) ? up : 'other'
}

const SENDER_CHECKS: ReadonlySet<string> = new Set(['sender', 'header', 'mail_auth'])
const RELAY_RULES: ReadonlySet<string> = new Set(['rcpt', 'mail'])

/**
 * The metric updates of one recorded decision. `auth` is present for an AUTH decision
 * (ldap_auth's attempt endings: haraka/record's `auth` option); every decision also counts
 * in haraka_decisions_total, so a rule nothing below knows is still seen.
 */
export function metricsOf(
  d: Pick<Decision, 'plugin' | 'rule' | 'reason' | 'verdict'>,
  auth?: AuthContext,
): MetricUpdate[] {
  const rule: string = d.rule
  const reason: string = d.reason
  const out: MetricUpdate[] = [
    { kind: 'inc', name: 'haraka_decisions_total', labels: { plugin: d.plugin, rule, verdict: d.verdict } },
  ]
  if (auth) {
    const result = authResultOf(d)
    out.push({
      kind: 'inc',
      name: 'haraka_auth_attempts_total',
      labels: { mechanism: mechanismLabel(auth.mechanism), result },
    })
    if (auth.seconds !== undefined && Number.isFinite(auth.seconds) && auth.seconds >= 0)
      out.push({
        kind: 'observe',
        name: 'haraka_auth_duration_seconds',
        labels: { result },
        value: auth.seconds,
      })
  }
  if (rule === 'limit')
    out.push({
      kind: 'inc',
      name: 'haraka_limiter_decisions_total',
      labels: { plugin: d.plugin, reason, verdict: d.verdict },
    })
  else if (rule === 'contain')
    out.push({
      kind: 'inc',
      name: 'haraka_containment_actions_total',
      labels: { reason, verdict: d.verdict },
    })
  else if (SENDER_CHECKS.has(rule))
    out.push({
      kind: 'inc',
      name: 'haraka_sender_checks_total',
      labels: { check: rule, reason, result: d.verdict },
    })
  else if (RELAY_RULES.has(rule) && (d.verdict === 'fail' || d.verdict === 'err'))
    out.push({ kind: 'inc', name: 'haraka_relay_refusals_total', labels: { rule, reason } })
  return out
}

/** `rule(reason)` back into its parts (a summary entry lists labels). */
function parseLabel(label: unknown): { rule: string; reason: string } | undefined {
  const m = typeof label === 'string' ? /^([a-z_]+)\(([a-z0-9_]+)\)$/.exec(label) : null
  return m ? { rule: m[1]!, reason: m[2]! } : undefined
}

const STAMPED: ReadonlySet<string> = new Set(['identity', 'identity_from_stamp'])

/**
 * The metric updates of a summary entry (auth_stamp's one entry per message: its decisions
 * as `rule(reason)` labels under pass/fail/skip/err, and `removed`, the fields it stripped).
 */
export function metricsOfSummary(plugin: Decision['plugin'], entry: Record<string, unknown>): MetricUpdate[] {
  const out: MetricUpdate[] = []
  for (const verdict of ['pass', 'fail', 'skip', 'err'] as const) {
    const labels = entry[verdict]
    for (const l of Array.isArray(labels) ? labels : []) {
      const p = parseLabel(l)
      if (!p) continue
      out.push({ kind: 'inc', name: 'haraka_decisions_total', labels: { plugin, rule: p.rule, verdict } })
      if (verdict === 'pass' && p.rule === 'stamp' && STAMPED.has(p.reason))
        out.push({ kind: 'inc', name: 'haraka_stamps_added_total', labels: {} })
    }
  }
  const removed = entry.removed
  if (typeof removed === 'number' && Number.isInteger(removed) && removed > 0)
    out.push({ kind: 'inc', name: 'haraka_stamp_forged_removed_total', labels: {}, by: removed })
  return out
}
