// The notes our plugins read and write, each key named and typed once.
// connection.notes lives for the session, transaction.notes from MAIL to the
// end of DATA, server.notes for the process (its shared clients).
import type { Connection, Transaction } from 'haraka'
import type { RedisLike } from '../lib/relay/grants'
import { senderCacheFor, type SenderCache } from '../lib/authz/session'

/** The session's authenticated login, read only through Haraka's contract (auth_base sets notes.auth_user), never from another plugin. */
export function authUser(connection: Connection): string | undefined {
  const user = connection.notes.auth_user
  return typeof user === 'string' && user ? user : undefined
}

/** auth_relay's sender answers for this session, kept while `key` (the login and the settings they depend on) stays the same. */
export function sessionSenderCache(connection: Connection, key: string): SenderCache {
  const cache = senderCacheFor(connection.notes.auth_relay_senders as SenderCache | undefined, key)
  connection.notes.auth_relay_senders = cache
  return cache
}

/** The POP/IMAP-before-SMTP answer of this transaction, once known. */
export function popGrantNote(transaction: Transaction | null): boolean | undefined {
  return transaction?.notes.auth_relay_pop_before_smtp as boolean | undefined
}

export function notePopGrant(transaction: Transaction | null, granted: boolean): void {
  if (transaction) transaction.notes.auth_relay_pop_before_smtp = granted
}

/** The AUTH= value of MAIL FROM as auth_relay believed it (`<mailbox>` or `<>`), for the plugins after it. */
export function noteMailAuth(transaction: Transaction, value: string): void {
  transaction.notes.auth_relay_mail_auth = value
}

/** The redis plugin's shared client (server.notes.redis), when that plugin runs before ours. */
export function redisClient(connection: Connection): RedisLike | undefined {
  return (connection as Connection & { server?: { notes?: Record<string, any> } }).server?.notes?.redis
}
