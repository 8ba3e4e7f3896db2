// A decision is a value: which plugin decided, by which rule, why, what the
// results store records, and the reply when the hook answers with one. Pure
// judges in lib/ return Decisions; haraka/record writes each one as a results
// label `rule(reason)`, one log line and the DSN. The reasons of each rule are
// listed in Reasons: the README's results tables document the same labels.
import type { HeaderReason } from './authz/alignment'
import type { LocalSenderReason, SenderReason } from './authz/envelope'
import type { MailAuthReason } from './authz/mail_auth'
import type { SubmissionReason } from './authz/submission'
import type { RcptReason } from './relay/policy'
import type { Reply } from './replies'
import type { ExchangeReason } from './authn/sasl'
import type { AuthnReason, AuthzReason } from './authn/verify'

export type PluginName = 'ldap_auth' | 'auth_relay' | 'auth_stamp' | 'eml_sink'

/** The results store's verdict keys (haraka-results). */
export type Verdict = 'pass' | 'fail' | 'skip' | 'err'

/**
 * Every rule and its reasons. A plugin's reasons are declared beside the judge
 * that decides them (lib/authn, lib/authz, lib/relay, lib/stamp) and named here.
 */
export interface Reasons {
  auth: ExchangeReason
  authn: AuthnReason
  authz: AuthzReason
  mail: SubmissionReason | LocalSenderReason
  sender: SenderReason
  mail_auth: MailAuthReason
  rcpt: RcptReason
  header: HeaderReason
  stamp: string
  address: string
  verify: string
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
