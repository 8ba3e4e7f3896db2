// auth_stamp's decision on the bare CRs of a message's data (lib/mail/bare_cr
// counts them as the lines arrive), by the bare_cr mode the scan ran under.
import type { Decision } from '../decisions'
import type { BareCrScan } from '../mail/bare_cr'
import { REPLIES } from '../replies'
import { stampDecision } from './results'

export type BareCrVerdict =
  { action: 'none' } | { action: 'refuse' | 'removed' | 'allowed'; decision: Decision<'bare_cr'> }

/** When a data hook ahead of auth_stamp's answered OK, the data was not looked at. */
export const NOT_SCANNED = stampDecision('bare_cr', 'err', 'not_scanned')

export function bareCrVerdict(scan: BareCrScan): BareCrVerdict {
  if (!scan.bareCrs) return { action: 'none' }
  const detail =
    `${scan.bareCrs} bare CR(s) in ${scan.linesWithBareCr} line(s), ` +
    `the first in data line ${scan.firstLine} (${scan.firstIn})`
  switch (scan.mode) {
    case 'refuse':
      return {
        action: 'refuse',
        decision: { ...stampDecision('bare_cr', 'fail', 'refused', detail), reply: REPLIES.BARE_CR_REFUSED },
      }
    case 'remove':
      return { action: 'removed', decision: stampDecision('bare_cr', 'pass', 'removed', detail) }
    case 'allow':
      return { action: 'allowed', decision: stampDecision('bare_cr', 'skip', 'allowed', detail) }
  }
}
