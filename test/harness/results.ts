// A decision as the results store gets it, `{<verdict>: '<rule>(<reason>)'}` (haraka/record
// writes the same), so tests assert the label text the README documents.
import { labelOf, type Decision } from '../../lib/decisions'

export function resultOf(decision: Decision | undefined): Record<string, string> | undefined {
  return decision && { [decision.verdict]: labelOf(decision) }
}
