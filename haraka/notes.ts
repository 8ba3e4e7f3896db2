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

// SASL mechanisms a client may name (IANA registry, the common ones). Another word is
// recorded as `other`: a client that sends `AUTH <base64 credential>` must not see it in the log.
const KNOWN_MECHANISMS = new Set(
  'PLAIN LOGIN CRAM-MD5 DIGEST-MD5 GSSAPI GS2-KRB5 NTLM XOAUTH2 OAUTHBEARER EXTERNAL ANONYMOUS SCRAM-SHA-1 SCRAM-SHA-1-PLUS SCRAM-SHA-256 SCRAM-SHA-256-PLUS'.split(
    ' ',
  ),
)

/** The mechanism an AUTH command named, as the audit line may show it. */
export function mechanismName(word: string): string {
  const upper = word.toUpperCase()
  return KNOWN_MECHANISMS.has(upper) ? upper : 'other'
}

/** ldap_auth: the session's current AUTH command, when it came and the mechanism it named (for its audit line). */
export interface AuthCommand {
  at: number
  mechanism: string
}

export function markAuthCommand(connection: Connection, mechanism: string): void {
  const command: AuthCommand = { at: Date.now(), mechanism: mechanismName(mechanism) }
  connection.notes.ldap_auth_command = command
}

export function authCommand(connection: Connection): AuthCommand | undefined {
  return connection.notes.ldap_auth_command as AuthCommand | undefined
}
