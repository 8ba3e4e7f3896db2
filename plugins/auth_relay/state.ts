// What the auth_relay hook files share: the plugin's state, and the Haraka
// side of its services: the session's sender ownership (lib/authz/ownership)
// with its answers kept in the connection's notes, the POP/IMAP-before-SMTP
// grant of a transaction, the submission-port facts, and the one answer to a
// check that failed.
import type { Connection, Plugin } from 'haraka'
import type { OnceNext } from '../../haraka/next_once'
import {
  authUser,
  loginEntryNote,
  notePopGrant,
  popGrantNote,
  redisClient,
  sessionSenderCache,
} from '../../haraka/notes'
import { knownLoginEntry } from '../../lib/ldap/login_entry'
import { answer, record } from '../../haraka/record'
import {
  loginOwnership as ownershipFrom,
  type LoginOwnership,
  type StopReason,
} from '../../lib/authz/ownership'
import { authRequired, type Submitter } from '../../lib/authz/submission'
import type { DirectoryConfig } from '../../lib/ldap/config'
import { DirectoryUnavailableError } from '../../lib/ldap/errors'
import type { DirectoryHandle } from '../../lib/ldap/handle'
import { inNetworks } from '../../lib/net/networks'
import type { RelayConfig } from '../../lib/relay/config'
import { checkGrant, type GrantFile } from '../../lib/relay/grants'
import { recipientDirectoryNeeded } from '../../lib/relay/recipients'
import { REPLIES } from '../../lib/replies'

export interface AuthRelay extends Plugin {
  cfg: RelayConfig
  dirCfg: DirectoryConfig
  /** logins' entries and [send_as] groups */
  directory: DirectoryHandle
  /** recipient_filter searches (verify_recipients) */
  recipients: DirectoryHandle
  grantFile: GrantFile | undefined
  localDomains: ReadonlySet<string>
  /** the Haraka server of this process (init_master / init_child), for hooks without a connection */
  harakaServer?: { notes?: Record<string, unknown> }
  load_auth_relay_ini(): void
  load_ldap_directory_ini(): void
  load_host_list(): void
}

/** The login's addresses and send-as rights, read once per connection (see lib/authz/ownership for `stop`). */
export function loginOwnership(
  plugin: AuthRelay,
  connection: Connection,
  login: string,
  stop?: StopReason,
): LoginOwnership {
  const { cfg, dirCfg } = plugin
  const sources = {
    directory: plugin.directory,
    mode: dirCfg.mode,
    recipients: recipientDirectoryNeeded(dirCfg, cfg) ? plugin.recipients : undefined,
    senderAttributes: cfg.sender_attributes,
    subaddressSeparator: cfg.subaddress_separator,
    sendAs: cfg.sendAs,
    // the entry ldap_auth's search found at AUTH, when it is what findLoginEntry would find now
    known: knownLoginEntry(
      loginEntryNote(connection),
      dirCfg.loginKey,
      dirCfg.mode,
      login,
      cfg.sender_attributes,
    ),
  }
  const key = `${JSON.stringify(login)}${settingsKey(cfg, dirCfg)}`
  return ownershipFrom(sources, sessionSenderCache(connection, key), login, stop)
}

/** Every setting the answers depend on (a reload that changes one starts afresh), made once per loaded pair. */
const settingsKeys = new WeakMap<RelayConfig, { dirCfg: DirectoryConfig; key: string }>()

function settingsKey(cfg: RelayConfig, dirCfg: DirectoryConfig): string {
  const made = settingsKeys.get(cfg)
  if (made?.dirCfg === dirCfg) return made.key
  const key = JSON.stringify([
    cfg.sender_attributes,
    dirCfg.mode,
    dirCfg.base_dn,
    cfg.recipient_filter,
    cfg.recipient_base_dn,
  ])
  settingsKeys.set(cfg, { dirCfg, key })
  return key
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
  const known = popGrantNote(connection.transaction)
  if (known !== undefined) return known
  const ip = connection.remote.ip
  const check = await checkGrant(ip, {
    redis: cfg.pop_before_smtp_redis
      ? { client: redisClient(connection), prefix: cfg.pop_before_smtp_redis_prefix, timeoutMs: 1000 }
      : undefined,
    file: plugin.grantFile,
    ttlSeconds: cfg.pop_before_smtp_ttl,
  })
  if (check.granted) {
    const how = `${check.source}, login ${check.ageSeconds} s ago`
    connection.loginfo(plugin, `relay granted by pop-before-smtp for ${ip} (${how})`)
  } else {
    for (const p of check.problems) connection.logwarn(plugin, `pop-before-smtp: no grant for ${ip}: ${p}`)
  }
  notePopGrant(connection.transaction, check.granted)
  return check.granted
}

/**
 * A check that threw: the directory is down (or a recipient check cannot run
 * as configured), or anything else went wrong on the way. 451 4.4.3, recorded
 * as `<rule>(directory_unavailable)`, logged as `<what>: <why>`.
 */
export function checkFailed(
  plugin: AuthRelay,
  connection: Connection,
  done: OnceNext,
  rule: 'sender' | 'rcpt' | 'header',
  what: string,
  err: unknown,
): void {
  const why = err instanceof DirectoryUnavailableError ? err.message : ((err as Error).stack ?? String(err))
  const failed = { plugin: 'auth_relay', rule, reason: 'directory_unavailable', verdict: 'err' } as const
  answer(
    done,
    connection,
    plugin,
    { ...failed, reply: REPLIES.DIRECTORY_TEMPFAIL },
    { log: `${what}: ${why}` },
  )
}

/** Who sends MAIL, for the submission-port rule (lib/authz/submission). */
export function submitter(plugin: AuthRelay, connection: Connection): Submitter {
  return {
    port: connection.local.port,
    authenticated: Boolean(authUser(connection)),
    trusted: inNetworks(connection.remote.ip, plugin.cfg.trusted),
    relaying: connection.relaying,
  }
}

/** The submission-port refusal, recorded the same by the gate ahead of core and by the mail hook. */
export function recordAuthRequired(plugin: AuthRelay, connection: Connection): unknown {
  const decision = authRequired(connection.local.port)
  return record(connection, plugin, decision, { log: `MAIL refused ${decision.detail}` })
}
