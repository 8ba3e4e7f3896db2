// MAIL FROM: the envelope sender a session may use. An authenticated login
// only its own addresses (its entry's, sub-addresses, [send_as] groups); with
// inbound_local_sender, an unauthenticated client not one of our domains
// (unless it is trusted or has a POP/IMAP-before-SMTP grant). With
// enforce_sender=false or inbound_local_sender=observe a refusal is recorded
// but has no reply: the command goes on.
import type { Decision } from '../decisions'
import { canonicalDomain } from '../mail/address'
import { REPLIES, type Reply } from '../replies'
import { safeForLog } from '../text'
import type { LoginOwnership } from './ownership'
import type { SubmissionReason } from './submission'

export type SenderReason =
  | 'owned'
  | 'subaddress'
  | 'send_as'
  | 'null_sender_allowed'
  | 'null_sender'
  | 'no_entry'
  | 'not_owned'
  | 'directory_unavailable'

export type LocalSenderReason = 'local_sender_unauthenticated'

function sender(reason: SenderReason, more: Partial<Decision<'sender'>> = {}): Decision<'sender'> {
  return { plugin: 'auth_relay', rule: 'sender', verdict: 'pass', reason, ...more }
}

/** An authenticated session's MAIL FROM address (null for `<>`). */
export async function judgeSender(
  address: string | null,
  ownership: LoginOwnership,
  policy: { enforce: boolean; allowNullSender: boolean },
): Promise<Decision<'sender'>> {
  const refuse = (reason: SenderReason, reply: Reply, detail: string) =>
    sender(reason, { verdict: 'fail', detail, ...(policy.enforce ? { reply } : {}) })
  if (address === null) {
    if (policy.allowNullSender) return sender('null_sender_allowed')
    return refuse('null_sender', REPLIES.NULL_SENDER_REFUSED, 'null sender <>')
  }
  if ((await ownership.owned()).kind === 'no_entry')
    return refuse('no_entry', REPLIES.SENDER_NOT_OWNED, 'no directory entry for the login')
  const own = await ownership.owns(address)
  if (!own.owned) {
    const other = own.reason === 'another_entry' ? ' (another directory entry has it)' : ''
    return refuse(
      'not_owned',
      REPLIES.SENDER_NOT_OWNED,
      `${safeForLog(address)} is not one of its addresses${other}`,
    )
  }
  if (own.via === 'send_as')
    return sender('send_as', { detail: `sends as ${safeForLog(address)}: member of ${own.group}` })
  return sender(own.via === 'listed' ? 'owned' : own.via)
}

export interface LocalSenderPolicy {
  /** inbound_local_sender: accept, observe or refuse */
  mode: string
  localDomains: ReadonlySet<string>
}

/** An unauthenticated session's MAIL FROM (null for `<>`): undefined when there is nothing to record. */
export async function judgeLocalSender(
  sender: { address: string; domain: string } | null,
  client: { ip: string; trusted: boolean; popGrant: () => Promise<boolean> },
  policy: LocalSenderPolicy,
): Promise<Decision<'mail'> | undefined> {
  if (policy.mode === 'accept' || sender === null || client.trusted) return undefined
  if (!policy.localDomains.has(canonicalDomain(sender.domain))) return undefined
  if (await client.popGrant()) return undefined
  return {
    plugin: 'auth_relay',
    rule: 'mail',
    reason: 'local_sender_unauthenticated',
    verdict: 'fail',
    detail: `${safeForLog(sender.address)} is in a local domain but ${client.ip} did not authenticate`,
    ...(policy.mode === 'refuse' ? { reply: REPLIES.INBOUND_LOCAL_SPOOF } : {}),
  }
}

declare module '../decisions' {
  interface Reasons {
    mail: SubmissionReason | LocalSenderReason
    sender: SenderReason
  }
}
