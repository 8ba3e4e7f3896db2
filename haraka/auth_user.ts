// The session's authenticated login, read only through Haraka's contract
// (auth_base sets connection.notes.auth_user on success), never from another plugin.
import type { Connection } from 'haraka'

export function authUser(connection: Connection): string | undefined {
  const user = connection.notes.auth_user
  return typeof user === 'string' && user ? user : undefined
}
