// Every way an AUTH attempt ends, as the Decision ldap_auth records (haraka/record):
// its results label and its reply. The exchange's refusals come from lib/authn/sasl,
// verdicts from lib/authn/verify, the deadline from the hook.
import type { Decision } from '../decisions'
import { authReplyFor, REPLIES, type Reply } from '../replies'
import type { ExchangeRefusal } from './sasl'
import type { Verdict, VerdictLabel } from './verify'

/** A decision the hook answers with its own reply. */
export type Answered<R extends 'auth' | 'authn' | 'authz' | 'limit'> = Decision<R> & { reply: Reply }

/** The exchange refused a line (lib/authn/sasl): answered with the step's reply. */
export function exchangeRefused(step: { reason: ExchangeRefusal; reply: Reply }): Answered<'auth'> {
  return { plugin: 'ldap_auth', rule: 'auth', reason: step.reason, verdict: 'fail', reply: step.reply }
}

/** The client sent another command after our 334: a failure, and that command goes on. */
export const EXCHANGE_ABANDONED: Decision<'auth'> = {
  plugin: 'ldap_auth',
  rule: 'auth',
  reason: 'abandoned',
  verdict: 'fail',
}

/** verify's verdict: pass only on OK; 235, 454 for an outage, else 535 (authReplyFor). */
export function verdictDecision(v: Verdict): Answered<'authn' | 'authz'> {
  // Spelled out per rule, so that each reason keeps its rule's type.
  const label: VerdictLabel =
    v.rule === 'authn' ? { rule: 'authn', reason: v.reason } : { rule: 'authz', reason: v.reason }
  return {
    plugin: 'ldap_auth',
    ...label,
    verdict: v.outcome === 'OK' ? 'pass' : 'fail',
    reply: authReplyFor(v.outcome),
  }
}

/** Beside an OK verdict of a proxy login: the session acts as its authzid. */
export const ACTING_AS_AUTHZID: Decision<'authz'> = {
  plugin: 'ldap_auth',
  rule: 'authz',
  reason: 'proxy',
  verdict: 'pass',
}

/** No verdict before the AUTH deadline (lib/authn/budget): 454, and a later verdict is dropped. */
export const AUTH_TIMED_OUT: Answered<'authn'> = {
  plugin: 'ldap_auth',
  rule: 'authn',
  reason: 'timeout',
  verdict: 'fail',
  reply: REPLIES.AUTH_TEMPFAIL,
}

/** A bug, not a directory outage (those are verdicts): still a temporary failure, never a 235. */
export const AUTH_INTERNAL_ERROR: Answered<'authn'> = {
  plugin: 'ldap_auth',
  rule: 'authn',
  reason: 'internal_error',
  verdict: 'fail',
  reply: REPLIES.AUTH_TEMPFAIL,
}
