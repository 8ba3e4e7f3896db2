// What the directory layer tells an observer (haraka/metrics wires one to prom-client;
// without one nothing is measured): each request with its server, operation, outcome and
// duration; a server marked down or up; and the state of its connection pools, read when
// the observer asks (a scrape). Pure: no metrics library here.

/** The LDAP operation a request was for (a search for a login, a user bind, a read, a group check). */
export type LdapOperation = 'search' | 'read' | 'group' | 'bind'

/**
 * How a request ended: the server answered it (success), answered with an LDAP error
 * about the request (refused: wrong password, no such entry, too many matches), did not
 * answer in time (timeout), failed otherwise (error: connection refused or dropped, busy,
 * unavailable), or never reached a server because no connection could be had (no_connection).
 */
export type LdapOutcome = 'success' | 'refused' | 'timeout' | 'error' | 'no_connection'

export interface LdapRequestEvent {
  /** the server's URL as configured; `none` when no connection was had */
  server: string
  operation: LdapOperation
  outcome: LdapOutcome
  seconds: number
}

export interface PoolState {
  pool: 'service' | 'bind'
  busy: number
  idle: number
  waiting: number
}

export interface LdapObserver {
  request?(event: LdapRequestEvent): void
  /** a server's state: every configured server (up) when a directory opens, then each change */
  server?(event: { server: string; up: boolean }): void
  /** a directory's pools, to be read on demand; the returned function forgets them (at close) */
  pools?(read: () => PoolState[]): () => void
}
