// The notes our plugins read and write, each key named and typed once.
// connection.notes lives for the session, transaction.notes from MAIL to the
// end of DATA, server.notes for the process (its shared clients).
import type { ContainDecision } from '../lib/containment/decide'
import type { Connection, Transaction } from 'haraka'
import type { Pending } from '../lib/authn/sasl'
import type { RedisLike } from '../lib/relay/grants'
import { senderCacheFor, type SenderCache } from '../lib/authz/session'
import type { KnownLoginEntry } from '../lib/ldap/login_entry'

/** The session's authenticated login, read only through Haraka's contract (auth_base sets notes.auth_user), never from another plugin. */
export function authUser(connection: Connection): string | undefined {
  const user = connection.notes.auth_user
  return typeof user === 'string' && user ? user : undefined
}

// ldap_auth. auth_user and auth_method are Haraka's own contract (auth_base sets
// them, and plugins after AUTH read them); auth_login and the rest are ours.

/** The authenticated session, as auth_base leaves it: `user` the login (or the authzid acted as), `login` the authcid when it differs (proxy). */
export function noteAuthenticated(
  connection: Connection,
  auth: { user: string; method: string; login?: string },
): void {
  connection.notes.auth_user = auth.user
  connection.notes.auth_method = auth.method
  if (auth.login !== undefined) connection.notes.auth_login = auth.login
}

/** The SASL mechanism of the session's successful AUTH (notes.auth_method), when there was one. */
export function authMethod(connection: Connection): string | undefined {
  const method = connection.notes.auth_method
  return typeof method === 'string' && method ? method : undefined
}

/** The authcid that authenticated when it acted as another login (notes.auth_login). */
export function authLogin(connection: Connection): string | undefined {
  const login = connection.notes.auth_login
  return typeof login === 'string' && login ? login : undefined
}

/** Count one more failed AUTH attempt of this session (notes.auth_fails); returns the count. */
export function countAuthFailure(connection: Connection): number {
  const n = (Number(connection.notes.auth_fails) || 0) + 1
  connection.notes.auth_fails = n
  return n
}

/** ldap_auth's exchange between our 334 challenge and the client's answer, and the 334 line it answers. */
export interface PendingAuth {
  pending: Pending
  prompt: string | null
}

/** Take (read and clear) the pending exchange, if any. */
export function takePendingAuth(connection: Connection): PendingAuth | undefined {
  const note = connection.notes.ldap_auth_pending as PendingAuth | undefined
  delete connection.notes.ldap_auth_pending
  return note
}

export function notePendingAuth(connection: Connection, note: PendingAuth): void {
  connection.notes.ldap_auth_pending = note
}

/**
 * The login's entry as ldap_auth's user search read it at AUTH (search mode), for the checks
 * after AUTH on the same directory (auth_relay's addresses): set at a successful AUTH, absent
 * when the verdict had none (template mode, local users, a proxy login).
 */
export function noteLoginEntry(connection: Connection, known: KnownLoginEntry | undefined): void {
  if (known) connection.notes.ldap_login_entry = known
  else delete connection.notes.ldap_login_entry
}

export function loginEntryNote(connection: Connection): KnownLoginEntry | undefined {
  return connection.notes.ldap_login_entry as KnownLoginEntry | undefined
}

/** Attributes the plugins after AUTH read from the login's entry (auth_relay's sender_attributes), for ldap_auth to read with it. */
export function noteSessionAttributes(connection: Connection, attributes: readonly string[]): void {
  connection.notes.ldap_session_attributes = attributes
}

export function sessionAttributes(connection: Connection): readonly string[] {
  const v = connection.notes.ldap_session_attributes
  return Array.isArray(v) ? (v as string[]).filter((a) => typeof a === 'string') : []
}

// auth_stamp

/** Drop the Authentication-Results clauses `drop` matches from the session's (notes.authentication_results, Haraka's auth_results()). */
export function dropAuthResultsClauses(connection: Connection, drop: (clause: string) => boolean): void {
  const clauses = connection.notes.authentication_results
  if (Array.isArray(clauses))
    connection.notes.authentication_results = clauses.filter((c: string) => !drop(c))
}

// auth_relay

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

/**
 * Containment: the login a transaction's recipients were counted for. Kept in
 * transaction.notes, which outbound writes into the queue file, so a bounce from
 * the far side (the `bounce` hook, hmail.todo.notes) counts for the same login.
 */
export function noteContainLogin(transaction: Transaction, login: string): void {
  transaction.notes.auth_relay_contain_login = login
}

export function containLoginNote(notes: Record<string, unknown> | undefined): string | undefined {
  const login = notes?.auth_relay_contain_login
  return typeof login === 'string' && login ? login : undefined
}

/** Containment: whether this transaction's message has been counted (at its first accepted recipient). */
export function containMessageCounted(transaction: Transaction): boolean {
  return transaction.notes.auth_relay_contain_counted === true
}

export function noteContainMessageCounted(transaction: Transaction): void {
  transaction.notes.auth_relay_contain_counted = true
}

/** Containment: the login crossed a budget in this transaction (its later recipients get the same answer). */
export function containRefusal(transaction: Transaction): ContainDecision | undefined {
  return transaction.notes.auth_relay_contain_refusal as ContainDecision | undefined
}

export function noteContainRefusal(transaction: Transaction, decision: ContainDecision): void {
  transaction.notes.auth_relay_contain_refusal = decision
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

/** The mechanism an AUTH command named (its first word: `PLAIN <initial response>`), as the audit line may show it. */
export function mechanismName(word: string): string {
  const upper = (word.trim().split(/\s+/)[0] ?? '').toUpperCase()
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
