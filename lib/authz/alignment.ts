// header_alignment at the end of DATA, for an authenticated session: the
// From/Sender fields are bounded (lib/authz/headers), read, and judged against
// the login's ownership. The checks stop at the first address the login does
// not own, and none starts once `stop` gives a reason. With enforce_sender=false
// a refusal is recorded but has no reply; with add_sender it is repaired instead
// (the login's primary address as the one Sender) when the login has one.
import type { Decision } from '../decisions'
import { HEADER_REPLIES, REPLIES } from '../replies'
import { safeForLog } from '../text'
import {
  addressCountProblem,
  addressesToCheck,
  identitySizeProblem,
  judgeAlignment,
  readIdentityHeaders,
  type Alignment,
  type BoundsProblem,
  type IdentityBounds,
} from './headers'
import { CheckStopped, type LoginOwnership, type StopReason } from './ownership'

type HeaderProblem = Exclude<Alignment, { ok: true }>['problem'] | BoundsProblem['problem']

export type HeaderReason = 'aligned' | 'sender_added' | HeaderProblem | 'timeout' | 'directory_unavailable'

export interface HeaderPolicy {
  enforce: boolean
  /** header_alignment=add_sender */
  addSender: boolean
  bounds: IdentityBounds
}

/** The decision on one message; with `addSender`, replace every client Sender with this address instead of refusing. */
export type HeaderJudgement = Decision<'header'> & { addSender?: string }

function header(reason: HeaderReason, more: Partial<Decision<'header'>> = {}): Decision<'header'> {
  return { plugin: 'auth_relay', rule: 'header', verdict: 'pass', reason, ...more }
}

/** What add_sender did: recorded beside the refusal it repaired. */
export const SENDER_ADDED = header('sender_added')

/** No verdict within the hook's deadline. */
export const HEADER_TIMEOUT = header('timeout', { verdict: 'err', reply: REPLIES.DIRECTORY_TEMPFAIL })

export async function judgeHeaders(
  fields: readonly string[],
  ownership: LoginOwnership,
  policy: HeaderPolicy,
  stop: StopReason,
): Promise<HeaderJudgement> {
  const refuse = (problem: HeaderProblem, detail: string) =>
    header(problem, {
      verdict: 'fail',
      detail: `${problem.replace(/_/g, ' ')}: ${detail}`,
      ...(policy.enforce ? { reply: HEADER_REPLIES[problem] } : {}),
    })
  const tooLarge = identitySizeProblem(fields, policy.bounds)
  if (tooLarge) return refuse(tooLarge.problem, tooLarge.detail)
  const headers = readIdentityHeaders(fields)
  // A malformed field name is refused whatever the directory says: decided before any lookup.
  if (!headers.ok && headers.problem === 'malformed_field_name')
    return refuse(headers.problem, safeForLog(headers.detail))
  const tooMany = addressCountProblem(headers, policy.bounds)
  if (tooMany) return refuse(tooMany.problem, tooMany.detail)
  const entry = await ownership.owned()
  const owned = new Set<string>()
  if (entry.kind === 'found') {
    // The first address not owned decides the verdict; the ones after it would only cost searches.
    for (const address of addressesToCheck(headers)) {
      if (!(await ownership.owns(address)).owned) break
      owned.add(address)
    }
  }
  const stopped = stop()
  if (stopped) throw new CheckStopped(stopped)
  const verdict = judgeAlignment(headers, (a) => owned.has(a))
  if (verdict.ok) return header('aligned')
  const refusal = refuse(verdict.problem, safeForLog(verdict.detail))
  const primary = entry.kind === 'found' ? entry.primary : undefined
  // add_sender repairs what it would refuse: the login's own address becomes the one Sender.
  if (refusal.reply && policy.addSender && primary)
    return { ...refusal, reply: undefined, addSender: primary }
  return refusal
}

declare module '../decisions' {
  interface Reasons {
    header: HeaderReason
  }
}
