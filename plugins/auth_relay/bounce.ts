// Outbound's `bounce` hook: recipients the far side refused for good count as
// refused recipients (containment) of the login that sent them. The login
// travels with the message in transaction.notes, which outbound writes into
// the queue file. A bounce has no session: the store is this process's.
import type { Next } from 'haraka'
import { refusedRecipients } from '../../lib/containment/budgets'
import { safeForLog } from '../../lib/text'
import { containLoginNote } from '../../haraka/notes'
import { recordWithoutSession } from '../../haraka/record'
import { sharedState } from '../../haraka/shared_state'
import { applyCrossing, runBatch, why } from './contain_state'
import type { AuthRelay } from './state'

type Bounce = { todo?: { notes?: Record<string, unknown>; rcpt_to?: unknown[] } }

/**
 * Outbound `bounce` hook: recipients the far side refused for good count as
 * refused recipients of the login that sent them. Always lets the bounce go on.
 */
export function contain_bounce(
  this: AuthRelay,
  next: Next,
  hmail: Bounce,
  err: { bounced_rcpt?: unknown[] },
): void {
  const cfg = this.cfg.contain
  const login = containLoginNote(hmail?.todo?.notes)
  if (!login || cfg.mode === 'off') return next()
  const n = Array.isArray(err?.bounced_rcpt) ? err.bounced_rcpt.length : (hmail.todo?.rcpt_to?.length ?? 1)
  const counting = refusedRecipients(login, n, cfg)
  const store = sharedState({ server: this.harakaServer })
  const who = safeForLog(login)
  runBatch(this, store, counting.ops)
    .then(async (answers) => {
      const counts = counting.read(answers)
      const d = await applyCrossing(
        this,
        store,
        login,
        counts,
        who,
        (crossing) => `login=${login} refused_recipients_per_day=${crossing.count}`,
      )
      if (!d) return
      recordWithoutSession(this, d, { log: `bounce: ${d.detail}` })
    })
    .catch((e: unknown) =>
      this.logwarn(`containment: ${n} bounced recipient(s) of ${who} not counted: ${why(e)}`),
    )
    .finally(() => next())
}
