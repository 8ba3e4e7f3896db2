// What an LDAP failure means, and the two errors callers see. A result code is
// either an answer about the request (no such entry, wrong password: the answer
// stands) or the server saying it cannot serve now (busy, unavailable...: try
// another server); anything else (a dropped socket, a timeout) is the transport.
// Every failure that is not an answer leaves lib/ldap as a DirectoryUnavailableError,
// so it ends as a temporary failure (454/451) whatever layer catches it.
import { InvalidCredentialsError, ResultCodeError, SizeLimitExceededError } from 'ldapts'
import { PoolTimeoutError } from './pool'

export class DirectoryUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'DirectoryUnavailableError'
  }
}

/**
 * Our own connection pool stayed full for `timeout` while a server is up: load,
 * not an outage. Still a DirectoryUnavailableError (callers answer it as a
 * temporary failure), but the "while the directory is down" fallbacks must not
 * apply to it.
 */
export class DirectoryBusyError extends DirectoryUnavailableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'DirectoryBusyError'
  }
}

// Result codes meaning the entry or name is not there, or not for this reader (no outage).
const NO_SUCH_OBJECT = 32
const INSUFFICIENT_ACCESS = 50
// Result codes meaning "this server cannot serve now" (RFC 4511 busy, unavailable,
// unwillingToPerform, other): the server's failure, not an answer about the request.
const SERVER_FAILURE = new Set([51, 52, 53, 80])

/** The server refused to serve (busy, unavailable, unwilling, other): another server may. */
export function isServerFailure(err: unknown): boolean {
  return err instanceof ResultCodeError && SERVER_FAILURE.has(err.code)
}

/** An LDAP result about the request itself: the answer, and the connection is still good. */
export function isAnswer(err: unknown): boolean {
  return err instanceof ResultCodeError && !isServerFailure(err)
}

/** ldapts rejects a request that got no answer in time with this message (and drops the socket). */
export function isTimeout(err: unknown): boolean {
  return err instanceof Error && /timed? ?out/i.test(err.message)
}

export function isNoSuchObject(err: unknown): boolean {
  return err instanceof ResultCodeError && err.code === NO_SUCH_OBJECT
}

/** The entry may not be read by this identity (insufficientAccessRights, or noSuchObject when hidden). */
export function isHidden(err: unknown): boolean {
  return isNoSuchObject(err) || (err instanceof ResultCodeError && err.code === INSUFFICIENT_ACCESS)
}

export function isWrongPassword(err: unknown): boolean {
  return err instanceof InvalidCredentialsError
}

/** The size limit was hit: more entries match than asked for. */
export function isTooManyMatches(err: unknown): boolean {
  return err instanceof SizeLimitExceededError
}

/** Why a server is marked down after `err` (the reason starts its log line). */
export function failureKind(err: unknown): 'refused to serve' | 'timeout' | 'connection failed' {
  return isServerFailure(err) ? 'refused to serve' : isTimeout(err) ? 'timeout' : 'connection failed'
}

/** An error for a log line: an LDAP result with its code, else the message. */
export function describeLdapError(err: unknown): string {
  return err instanceof ResultCodeError ? `LDAP result ${err.code}: ${err.message}` : (err as Error).message
}

/**
 * The error an operation `op` (search, read, bind...) fails with: busy when our
 * pool stayed full while a server is up, else unavailable. A full pool while every
 * server is marked down is the outage itself, not load.
 */
export function unavailable(op: string, err: unknown, anyServerUp: boolean): DirectoryUnavailableError {
  if (err instanceof DirectoryUnavailableError) return err
  if (err instanceof PoolTimeoutError && anyServerUp) {
    return new DirectoryBusyError(`${op} failed: connection pool busy: ${err.message}`, { cause: err })
  }
  return new DirectoryUnavailableError(`${op} failed: ${describeLdapError(err)}`, { cause: err })
}
