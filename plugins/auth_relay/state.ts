// What the auth_relay hook files share: the plugin's state and the per-session
// sender ownership (directory lookups cached per connection, lib/authz/session).
import type { Connection, Plugin } from 'haraka'
import type { DirectoryConfig } from '../../lib/ldap/config'
import type { DirectoryHandle } from '../../lib/ldap/handle'
import type { RelayConfig } from '../../lib/relay/config'
import type { AuthDirectory, Lookup } from '../../lib/ldap/types'
import { findLoginEntry } from '../../lib/ldap/login_entry'
import { loginParts } from '../../lib/ldap/template'
import { checkGrant, type GrantFile } from '../../lib/relay/grants'
import { recipientDirectoryNeeded } from '../../lib/relay/recipients'
import {
  claimedByAnotherEntry,
  lookupOwnedAddresses,
  ownsAddress,
  type Owned,
  type Ownership,
} from '../../lib/authz/senders'
import { cachedClaim, cachedMembership, cachedOwned, senderCache } from '../../lib/authz/session'

export interface AuthRelay extends Plugin {
  cfg: RelayConfig
  dirCfg: DirectoryConfig
  /** logins' entries and [send_as] groups */
  directory: DirectoryHandle
  /** recipient_filter searches (verify_recipients) */
  recipients: DirectoryHandle
  grantFile: GrantFile | undefined
  localDomains: ReadonlySet<string>
  load_auth_relay_ini(): void
  load_ldap_directory_ini(): void
  load_host_list(): void
}

export { authUser } from '../../haraka/auth_user'

export interface LoginOwnership {
  owned(): Promise<Owned>
  owns(address: string): Promise<Ownership>
}

/** Thrown instead of starting a directory operation once the hook no longer needs the answer. */
export class CheckStopped extends Error {
  constructor(why: string) {
    super(why)
    this.name = 'CheckStopped'
  }
}

/** Why to start no more directory work (the hook answered, the client left), or undefined to go on. */
export type StopReason = () => string | undefined

type Use = <R>(handle: DirectoryHandle, fn: (d: AuthDirectory) => Promise<R>) => Promise<R>

/** Who else may have `address`: the entry it names as a login, and the entry the recipient filter finds for it. */
function claimLookups(plugin: AuthRelay, use: Use, address: string): Array<() => Promise<Lookup>> {
  const ONLY_DN = ['1.1']
  const lookups = [
    () => use(plugin.directory, (d) => findLoginEntry(d, plugin.dirCfg.mode, address, ONLY_DN)),
  ]
  if (recipientDirectoryNeeded(plugin.dirCfg, plugin.cfg)) {
    lookups.push(() => use(plugin.recipients, (d) => d.findUser(loginParts(address), ONLY_DN)))
  }
  return lookups
}

/**
 * The login's addresses and send-as rights, read once per connection. With
 * `stop`, every directory operation first asks it, and throws CheckStopped
 * instead of starting when it gives a reason.
 */
export function loginOwnership(
  plugin: AuthRelay,
  connection: Connection,
  login: string,
  stop?: StopReason,
): LoginOwnership {
  const { cfg, dirCfg } = plugin
  const key = [
    login,
    cfg.sender_attributes,
    dirCfg.mode,
    dirCfg.base_dn,
    cfg.recipient_filter,
    cfg.recipient_base_dn,
  ]
  const cache = senderCache(connection.notes, JSON.stringify(key))
  const use: Use = (handle, fn) => {
    const why = stop?.()
    return why ? Promise.reject(new CheckStopped(why)) : handle.use(fn)
  }
  const owned = () =>
    cachedOwned(cache, () =>
      use(plugin.directory, (d) => lookupOwnedAddresses(d, dirCfg, login, cfg.sender_attributes)),
    )
  return {
    owned,
    async owns(address) {
      const entry = await owned()
      if (entry.kind !== 'found') return { owned: false }
      return ownsAddress(entry.addresses, address, {
        subaddressSeparator: cfg.subaddress_separator,
        sendAs: cfg.sendAs,
        isMember: (group) =>
          cachedMembership(cache, group, () => use(plugin.directory, (d) => d.isMember(group, entry.dn))),
        claimedByAnotherEntry: (canonical) =>
          cachedClaim(cache, canonical, () =>
            claimedByAnotherEntry(entry.dn, claimLookups(plugin, use, canonical)),
          ),
      })
    },
  }
}

/**
 * POP/IMAP-before-SMTP: is there a fresh grant for the client's IP? Checked
 * again in every transaction (the answer is kept in transaction.notes only, for
 * the MAIL and RCPTs of that transaction), so a grant that expires or is
 * removed stops at the next RSET/MAIL; sources that cannot be read are logged
 * and grant nothing.
 */
export async function popGrant(plugin: AuthRelay, connection: Connection): Promise<boolean> {
  const { cfg } = plugin
  if (!cfg.popBeforeSmtp) return false
  const notes = connection.transaction?.notes
  const known = notes?.[POP_NOTE] as boolean | undefined
  if (known !== undefined) return known
  const server = (connection as Connection & { server?: { notes?: Record<string, any> } }).server
  const check = await checkGrant(connection.remote.ip, {
    redis: cfg.pop_before_smtp_redis
      ? { client: server?.notes?.redis, prefix: cfg.pop_before_smtp_redis_prefix, timeoutMs: 1000 }
      : undefined,
    file: plugin.grantFile,
    ttlSeconds: cfg.pop_before_smtp_ttl,
  })
  if (check.granted) {
    connection.loginfo(
      plugin,
      `relay granted by pop-before-smtp for ${connection.remote.ip} (${check.source}, login ${check.ageSeconds} s ago)`,
    )
  } else {
    for (const p of check.problems)
      connection.logwarn(plugin, `pop-before-smtp: no grant for ${connection.remote.ip}: ${p}`)
  }
  if (notes) notes[POP_NOTE] = check.granted
  return check.granted
}

const POP_NOTE = 'auth_relay_pop_before_smtp'
