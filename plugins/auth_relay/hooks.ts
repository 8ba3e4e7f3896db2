// auth_relay: a recipient outside our domains is accepted only for an
// authenticated session (or a configured trusted network), and an
// authenticated session may send only as an address its directory entry lists.
// Reads authentication only through Haraka's contract (connection.notes.auth_user).
import constants from 'haraka-constants'
import type { Address, Connection, Next, Plugin } from 'haraka'
import { safeForLog } from '../../lib/auth/login'
import { booleanKeys } from '../../lib/config/schema'
import { addressOf, hostOf } from '../../lib/haraka/address'
import { toDsn } from '../../lib/haraka/dsn'
import { loadDirectoryConfig } from '../../lib/haraka/directory_config'
import { loadValidated } from '../../lib/haraka/load_config'
import type { DirectoryConfig } from '../../lib/ldap/config'
import { DirectoryUnavailableError } from '../../lib/ldap/directory'
import { DirectoryHandle } from '../../lib/ldap/handle'
import { parseRelayConfig, RELAY_SPEC, relayWarnings, type RelayConfig } from '../../lib/relay/config'
import { inNetworks } from '../../lib/relay/networks'
import { decideRcpt, normaliseDomain } from '../../lib/relay/policy'
import { lookupOwnedAddresses, ownsAddress } from '../../lib/relay/senders'
import { REPLIES, type Reply } from '../../lib/replies'

interface AuthRelay extends Plugin {
  cfg: RelayConfig
  dirCfg: DirectoryConfig
  directory: DirectoryHandle
  localDomains: ReadonlySet<string>
  load_auth_relay_ini(): void
  load_ldap_directory_ini(): void
  load_host_list(): void
}

export function register(this: AuthRelay): void {
  this.directory = new DirectoryHandle()
  this.load_auth_relay_ini()
  this.load_ldap_directory_ini()
  this.load_host_list()
  this.register_hook('mail', 'sender_gate')
  this.register_hook('rcpt', 'relay_gate')
}

export function load_auth_relay_ini(this: AuthRelay): void {
  this.cfg = loadValidated(this, 'auth_relay.ini', booleanKeys('main', RELAY_SPEC), parseRelayConfig, () => this.load_auth_relay_ini(), this.cfg)
  if (this.cfg.trusted.length) this.lognotice(`trusted_networks may relay without AUTH: ${this.cfg.trusted_networks.join(', ')}`)
  for (const w of relayWarnings(this.cfg)) this.logwarn(`auth_relay.ini: ${w}`)
}

export function load_ldap_directory_ini(this: AuthRelay): void {
  this.dirCfg = loadDirectoryConfig(this, this.directory, this.dirCfg, () => this.load_ldap_directory_ini())
}

/** Local domains are Haraka's standard config/host_list. */
export function load_host_list(this: AuthRelay): void {
  const list = this.config.get('host_list', 'list', () => this.load_host_list()) as string[]
  this.localDomains = new Set(list.map((d) => normaliseDomain(d.trim())).filter(Boolean))
}

function authUser(connection: Connection): string | undefined {
  const user = connection.notes.auth_user
  return typeof user === 'string' && user ? user : undefined
}

/** MAIL FROM: submission ports need AUTH; an authenticated sender must own the address. */
export function sender_gate(this: AuthRelay, next: Next, connection: Connection, params: [Address]): void {
  const login = authUser(connection)
  if (!login) {
    if (this.cfg.submissionPorts.has(connection.local.port) && !inNetworks(connection.remote.ip, this.cfg.trusted)) {
      connection.results.add(this, { fail: 'mail(auth_required)' })
      connection.lognotice(this, `MAIL refused on submission port ${connection.local.port}: not authenticated`)
      return next(constants.deny, toDsn(REPLIES.SUBMISSION_AUTH_REQUIRED))
    }
    return next()
  }

  const sender = params[0]
  const enforce = this.cfg.enforce_sender
  const refuse = (reply: Reply, rule: string, why: string) => {
    connection.results.add(this, { fail: `sender(${rule})` })
    connection.lognotice(this, `MAIL ${enforce ? 'refused' : 'would be refused (enforce_sender=false)'} for ${safeForLog(login)}: ${why}`)
    if (enforce) next(constants.deny, toDsn(reply))
    else next()
  }
  if (sender.isNull()) {
    if (this.cfg.allow_null_sender) return next()
    return refuse(REPLIES.NULL_SENDER_REFUSED, 'null_sender', 'null sender <>')
  }
  const address = addressOf(sender)

  lookupOwnedAddresses(this.directory.directory, this.dirCfg, login, this.cfg.sender_attributes)
    .then((owned) => {
      if (owned.kind === 'no_entry') return refuse(REPLIES.SENDER_NOT_OWNED, 'no_entry', `no directory entry for the login`)
      if (!ownsAddress(owned.addresses, address)) {
        return refuse(REPLIES.SENDER_NOT_OWNED, 'not_owned', `${safeForLog(address)} is not one of its addresses`)
      }
      connection.results.add(this, { pass: 'sender(owned)' })
      next()
    })
    .catch((err: unknown) => {
      const why = err instanceof DirectoryUnavailableError ? err.message : ((err as Error).stack ?? String(err))
      connection.results.add(this, { err: 'sender(directory_unavailable)' })
      connection.logerror(this, `sender check for ${safeForLog(login)} failed: ${why}`)
      next(constants.denysoft, toDsn(REPLIES.DIRECTORY_TEMPFAIL))
    })
}

/** RCPT TO: local domains always; anything else only for AUTH or trusted networks. */
export function relay_gate(this: AuthRelay, next: Next, connection: Connection, params: [Address]): void {
  const rcpt = params[0]
  const decision = decideRcpt({
    domain: hostOf(rcpt),
    localDomains: this.localDomains,
    authenticated: Boolean(authUser(connection)),
    trustedNetwork: inNetworks(connection.remote.ip, this.cfg.trusted),
  })
  if (!decision.accept) {
    connection.results.add(this, { fail: `rcpt(${decision.rule})` })
    connection.lognotice(this, `RCPT ${safeForLog(addressOf(rcpt))} refused: relaying denied for unauthenticated ${connection.remote.ip}`)
    return next(constants.deny, toDsn(REPLIES.RELAY_DENIED))
  }
  if (decision.rule === 'trusted_network') connection.relaying = true
  connection.results.add(this, { pass: `rcpt(${decision.rule})` })
  next(constants.ok)
}

export async function shutdown(this: AuthRelay): Promise<void> {
  await this.directory.close()
}
