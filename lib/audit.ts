// The audit trail: one structured line per AUTH decision and per policy refusal,
// for the operator who asks "who tried what, from where, and what did we answer".
// Pure: haraka/record builds the event from the session and the decision and
// writes the line (to Haraka's log, or a file of its own: ldap_auth.ini `audit`).
// What may appear: client text (a login, a mechanism name) JSON-escaped and
// bounded; never a password, a hash, a bind secret or a base64 credential, which
// no caller has at hand (the event has no field that could carry one).
import type { PluginName, Verdict } from './decisions'

/** One audit event. Every field is always present (null when unknown), so a consumer can rely on the shape. */
export interface AuditEvent {
  /** ISO 8601, UTC, milliseconds */
  time: string
  /** Haraka's session uuid (the `[uuid]` of the session's log lines) */
  session: string | null
  client_ip: string | null
  local_port: number | null
  tls: boolean
  /** e.g. TLSv1.3, when the session is encrypted and the protocol is known */
  tls_protocol: string | null
  /** the login as the client gave it (AUTH decisions only) */
  login: string | null
  /** the canonical identity: the directory identity of a login that passed, the session's auth_user for a policy refusal */
  identity: string | null
  /** on a proxy login (proxy_logins), the PLAIN authzid the session acts as */
  acts_as: string | null
  /** the SASL mechanism (of this AUTH, or of the session's for a policy refusal) */
  mechanism: string | null
  plugin: PluginName
  /** the results verdict: pass, fail or err */
  outcome: Verdict
  rule: string
  reason: string
  /** the results label, `rule(reason)` */
  label: string
  /** the reply the client got, when the decision answered with one */
  code: number | null
  enhanced_code: string | null
  /** the directory server that answered, when known */
  server: string | null
  /** AUTH: milliseconds since the AUTH command */
  elapsed_ms: number | null
  /** AUTH: what the limiter did (allow, delay, refuse, shield, ban, suspend, exempt, unavailable); null when off */
  limiter: string | null
}

/** Every field, in the order of the line (the README's table lists them so). */
export const AUDIT_FIELDS = [
  'time',
  'session',
  'client_ip',
  'local_port',
  'tls',
  'tls_protocol',
  'login',
  'identity',
  'acts_as',
  'mechanism',
  'plugin',
  'outcome',
  'rule',
  'reason',
  'label',
  'code',
  'enhanced_code',
  'server',
  'elapsed_ms',
  'limiter',
] as const satisfies readonly (keyof AuditEvent)[]

/** The prefix of every audit line in Haraka's log: `grep ' audit {'`. */
export const AUDIT_PREFIX = 'audit '

/** Client text is bounded (an address is at most 254 octets): a long one is cut, and says so. */
const MAX_CLIENT_TEXT = 320

/** A client string as an audit field: bounded; JSON.stringify escapes the rest. */
export function clientText(raw: string | undefined | null): string | null {
  if (raw === undefined || raw === null) return null
  return raw.length > MAX_CLIENT_TEXT ? `${raw.slice(0, MAX_CLIENT_TEXT)}…` : raw
}

/**
 * The event as one line of JSON, its fields in AUDIT_FIELDS order. JSON.stringify
 * escapes quotes, backslashes and every C0 control; U+2028 and U+2029 (which it
 * leaves as they are, and which some log readers take as line ends) are escaped too,
 * so the line stays one line whatever the client sent. Without the prefix: a file line.
 */
export function auditJson(event: AuditEvent): string {
  // The replacer list writes the fields in its order and leaves out any other key; only an
  // event with an undefined field (never written by JSON.stringify) needs a copy with nulls.
  let complete: AuditEvent = event
  for (const k of AUDIT_FIELDS)
    if (event[k] === undefined) {
      complete = { ...event }
      for (const f of AUDIT_FIELDS) (complete as unknown as Record<string, unknown>)[f] = event[f] ?? null
      break
    }
  const json = JSON.stringify(complete, AUDIT_FIELDS as unknown as string[])
  return LINE_SEPARATORS.test(json) ? json.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029') : json
}

const LINE_SEPARATORS = /[\u2028\u2029]/

/** The line for Haraka's log: `audit {...}`. */
export function auditLine(event: AuditEvent): string {
  return AUDIT_PREFIX + auditJson(event)
}
