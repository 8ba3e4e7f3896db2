// A decision is a value: which plugin decided, by which rule, why, what the
// results store records, and the reply when the hook answers with one. Pure
// judges in lib/ return Decisions; haraka/record writes each one as a results
// label `rule(reason)`, one log line and the DSN. The reasons of each rule are
// listed in Reasons: the README's results tables document the same labels.
// Each judge's module adds its own rules to Reasons (TypeScript declaration
// merging: `declare module '../decisions' { interface Reasons { ... } }`, beside
// the union it decides), so this file imports no feature and every import in
// lib/ runs downward.
import type { Reply } from './replies'

export type PluginName = 'ldap_auth' | 'auth_relay' | 'auth_stamp' | 'eml_sink'

/** The results store's verdict keys (haraka-results). */
export type Verdict = 'pass' | 'fail' | 'skip' | 'err'

/**
 * Every rule and its reasons. A plugin's reasons are declared beside the judge
 * that decides them (lib/authn, lib/authz, lib/relay, lib/stamp), which adds them here.
 */
export interface Reasons {
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
