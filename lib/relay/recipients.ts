// Recipient verification (verify_recipients): is there a directory entry for
// this local address? A second Directory (own pools) runs recipient_filter
// under recipient_base_dn, reusing the client that ldap_auth uses for logins:
// exactly the same escaping, timeouts and outage handling.
import type { DirectoryConfig } from '../ldap/config'
import { loginEntryKey } from '../ldap/login_entry'
import type { Directory } from '../ldap/types'
import { loginParts } from '../ldap/template'
import { withoutUnnecessaryQuotes } from '../mail/address'
import type { RelayConfig } from './config'

/** ldap_directory.ini with the recipient filter and base in place of the login ones. */
export function recipientDirectoryConfig(dir: DirectoryConfig, relay: RelayConfig): DirectoryConfig {
  const changed = {
    mode: 'search',
    base_dn: relay.recipient_base_dn || dir.base_dn,
    user_filter: relay.recipient_filter,
  } as const
  // loginKey is made of the fields changed here, so it is made again
  return {
    ...dir,
    ...changed,
    userFilter: relay.recipientFilter,
    loginKey: loginEntryKey({ ...dir, ...changed }),
  }
}

/**
 * Whether the recipient Directory is used: for verify_recipients, and with
 * subaddress_separator to check a sub-address is not another entry's address
 * (when there is a base to search under).
 */
export function recipientDirectoryNeeded(dir: DirectoryConfig, relay: RelayConfig): boolean {
  return (
    (relay.verify_recipients || relay.subaddress_separator !== '') &&
    Boolean(relay.recipient_base_dn || dir.base_dn)
  )
}

/** Why recipient verification cannot run with this configuration; undefined when it can. */
export function recipientCheckProblem(dir: DirectoryConfig, relay: RelayConfig): string | undefined {
  if (!relay.verify_recipients) return undefined
  if (!relay.recipient_base_dn && !dir.base_dn)
    return 'verify_recipients=true needs recipient_base_dn (or base_dn in ldap_directory.ini)'
  return undefined
}

/**
 * `%u` is the address with an unnecessary quoting removed (`"bob"@` → `bob@`;
 * `"a b"@` stays quoted, as lib/mail/address compares), `%l` its local part, `%d` its domain.
 */
export async function recipientExists(dir: Directory, user: string, domain: string): Promise<boolean> {
  const local = withoutUnnecessaryQuotes(user)
  const found = await dir.findUser(loginParts(`${local}@${domain}`), ['1.1'])
  // Two entries with the address still mean the address exists.
  return found.kind !== 'none'
}
