// MAIL on a submission port needs AUTH first (530 5.7.0), except from a
// trusted network. One rule for the two places that apply it: the
// per-connection gate ahead of Haraka core (haraka/submission_gate) and the
// mail hook behind it. Core itself refuses MAIL on 587 and 465 from a session
// that is not relaying, with a bare 550 and before any hook; on those ports
// the gate answers 530 5.7.0 first, and lets a trusted network through.
import type { Decision } from '../decisions'
import { REPLIES } from '../replies'

/** Local ports on which Haraka core refuses MAIL from a session that is not relaying. */
const CORE_SUBMISSION_PORTS: readonly number[] = [587, 465]

/** 'refuse': answer 530 5.7.0; 'relay': mark the session relaying, then run core; 'core': run core. */
export type MailGateDecision = 'refuse' | 'relay' | 'core'

export type SubmissionReason = 'auth_required'

export interface Submitter {
  port: number
  authenticated: boolean
  /** the client is in trusted_networks */
  trusted: boolean
  /** the session relays already (a trusted network let through earlier, or another plugin) */
  relaying: boolean
}

export function submissionGate(submissionPorts: ReadonlySet<number>, who: Submitter): MailGateDecision {
  if (who.authenticated) return 'core'
  const corePort = CORE_SUBMISSION_PORTS.includes(who.port)
  if (who.trusted) return corePort && !who.relaying ? 'relay' : 'core'
  // Our submission ports need AUTH whatever else; on core's, a session that relays is core's to let through.
  if (submissionPorts.has(who.port) || (corePort && !who.relaying)) return 'refuse'
  return 'core'
}

export function authRequired(port: number): Decision<'mail'> {
  return {
    plugin: 'auth_relay',
    rule: 'mail',
    reason: 'auth_required',
    verdict: 'fail',
    reply: REPLIES.SUBMISSION_AUTH_REQUIRED,
    detail: `on submission port ${port}: not authenticated`,
  }
}
