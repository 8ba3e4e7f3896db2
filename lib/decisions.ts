// A decision is a value: which plugin decided, by which rule, why, what the
// results store records, and the reply when the hook answers with one. Pure
// judges in lib/ return Decisions; haraka/record writes each one as a results
// label `rule(reason)`, one log line and the DSN. The reasons of each rule are
// listed in Reasons: the README's results tables document the same labels.
import type { Reply } from './replies'
import type { AddressReason, BareCrReason, SignReason, StampReason, VerifyReason } from './stamp/reasons'

export type PluginName = 'ldap_auth' | 'auth_relay' | 'auth_stamp' | 'eml_sink'

/** The results store's verdict keys (haraka-results). */
export type Verdict = 'pass' | 'fail' | 'skip' | 'err'

/**
 * Every rule and its reasons. A plugin's reasons are declared beside the judge
 * that decides them (lib/authn, lib/authz, lib/relay, lib/stamp) and named here.
 */
export interface Reasons {
  authn: string
  authz: string
  mail: string
  sender: string
  mail_auth: string
  rcpt: string
  header: string
  stamp: StampReason
  address: AddressReason
  verify: VerifyReason
  sign: SignReason
  bare_cr: BareCrReason
  /** eml_sink, the demo delivery: no judge, the store worked or not */
  queue: 'stored' | 'store_failed'
}

export type Rule = keyof Reasons

export type Decision<R extends Rule = Rule> = {
  [K in R]: {
    plugin: PluginName
    rule: K
    reason: Reasons[K]
    verdict: Verdict
    /** the reply the hook answers with, when it answers (absent: the hook lets the command go on) */
    reply?: Reply
    /** words for the log line only: client text already made safe (safeForLog), never a secret */
    detail?: string
  }
}[R]

/** The results label of a decision, e.g. `sender(not_owned)`. */
export function labelOf(d: { rule: Rule; reason: string }): string {
  return `${d.rule}(${d.reason})`
}
