// What auth_stamp records: its decisions (`rule(reason)` under pass, fail, skip
// or err; the reasons in ./reasons) and the one results entry per message they
// make up (haraka/record's recordSummary writes it, logged as one line).
import { labelOf, type Decision, type Reasons, type Verdict } from '../decisions'
import type { Inspection, NewHeader } from './plan'
import type { Verdict as StampVerdict } from './sign'

export type StampRule = 'stamp' | 'sign' | 'verify' | 'address' | 'bare_cr'

/** One decision of auth_stamp's. */
export function stampDecision<R extends StampRule>(
  rule: R,
  verdict: Verdict,
  reason: Reasons[R],
  detail?: string,
): Decision<R> {
  return { plugin: 'auth_stamp', rule, reason, verdict, ...(detail ? { detail } : {}) } as Decision<R>
}

/** The verify-mode verdict on a message's stamp. */
export function verifyDecision(verdict: StampVerdict): Decision<'verify'> {
  if (verdict.valid) return stampDecision('verify', 'pass', 'valid')
  if (verdict.reason === 'no_stamp') return stampDecision('verify', 'skip', 'no_stamp')
  return stampDecision('verify', 'fail', verdict.reason)
}

/** A field missingSubmissionFields added. */
export function addedDecision(h: NewHeader): Decision<'stamp'> {
  return stampDecision('stamp', 'pass', h.name === 'Date' ? 'date_added' : 'message_id_added')
}

/** The decisions on one message, for the one results entry auth_stamp records (`rule(reason)` labels plus removed counts). */
export class StampSummary {
  private readonly lists: Record<Verdict, string[]> = { pass: [], fail: [], skip: [], err: [] }

  note(decision: Decision | undefined): void {
    if (decision) this.lists[decision.verdict].push(labelOf(decision))
  }

  entry(found: Inspection): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    if (found.remove.length) {
      out.removed = found.remove.length
      if (found.removed.length) out.removed_fields = found.removed.map(([name, n]) => `${name}=${n}`)
      if (found.malformed.length) out.malformed_names = found.malformed.length
    }
    for (const [k, v] of Object.entries(this.lists)) if (v.length) out[k] = [...v]
    return out
  }
}
