// auth_relay: a recipient outside our domains is accepted only for an
// authenticated session (or a configured trusted network, or a recent
// POP/IMAP login from the same IP), the classic relay tricks are refused, and
// an authenticated session may send (envelope and From:/Sender:) only as
// addresses its directory entry lists. Reads authentication only through
// Haraka's contract (connection.notes.auth_user). Hooks: connect_init (here),
// mail.ts, rcpt.ts, data.ts.
import path from 'node:path'
import type { Connection, Next } from 'haraka'
import { stopAdmin } from './admin'
import { loadDirectoryConfig } from '../../haraka/directory_config'
import { loadValidated } from '../../haraka/load_config'
import { noteSessionAttributes } from '../../haraka/notes'
import { closeSharedState, useSharedState } from '../../haraka/shared_state'
import { installMailGate } from '../../haraka/submission_gate'
import { submissionGate, type MailGateDecision } from '../../lib/authz/submission'
import { DirectoryHandle } from '../../lib/ldap/handle'
import { ldapMetrics } from '../../haraka/metrics'
import { relayWarnings, AUTH_RELAY_INI } from '../../lib/relay/config'
import { GrantFile } from '../../lib/relay/grants'
import { canonicalDomain } from '../../lib/mail/address'
import {
  recipientCheckProblem,
  recipientDirectoryConfig,
  recipientDirectoryNeeded,
} from '../../lib/relay/recipients'
import { REPLIES } from '../../lib/replies'
import { recordAuthRequired, submitter, type AuthRelay } from './state'

export { sender_gate } from './mail'
export { relay_gate } from './rcpt'
export { header_gate } from './data'
export { contain_bounce } from './bounce'
export { contain_init_child, contain_init_master } from './admin'

// hook -> method; each method is exported from this module (checked by test/hooks/auth_relay.test.ts).
export const HOOKS = {
  connect_init: 'gate_submission',
  mail: 'sender_gate',
  rcpt: 'relay_gate',
  data_post: 'header_gate',
  bounce: 'contain_bounce',
  init_master: 'contain_init_master',
  init_child: 'contain_init_child',
} as const

export function register(this: AuthRelay): void {
  this.directory = new DirectoryHandle(undefined, { observer: ldapMetrics })
  this.recipients = new DirectoryHandle(undefined, { observer: ldapMetrics })
  this.load_auth_relay_ini()
  this.load_ldap_directory_ini()
  this.load_host_list()
  useSharedState(this)
  for (const [hook, method] of Object.entries(HOOKS)) this.register_hook(hook, method)
}

export function load_auth_relay_ini(this: AuthRelay): void {
  const previous = this.cfg
  this.cfg = loadValidated(this, AUTH_RELAY_INI, () => this.load_auth_relay_ini(), this.cfg)
  if (this.cfg === previous) return
  if (this.cfg.trusted.length)
    this.lognotice(`trusted_networks may relay without AUTH: ${this.cfg.trusted_networks.join(', ')}`)
  for (const w of relayWarnings(this.cfg)) this.logwarn(`auth_relay.ini: ${w}`)
  const file = this.cfg.pop_before_smtp_file
  this.grantFile = file ? new GrantFile(path.resolve(process.env.HARAKA ?? process.cwd(), file)) : undefined
  if (this.dirCfg) updateRecipientDirectory(this, previous === undefined)
}

export function load_ldap_directory_ini(this: AuthRelay): void {
  const previous = this.dirCfg
  this.dirCfg = loadDirectoryConfig(this, this.directory, this.dirCfg, () => this.load_ldap_directory_ini())
  updateRecipientDirectory(this, previous === undefined)
}

/** verify_recipients (and the sub-address check) need both files; a configuration that cannot work stops startup, and is logged on reload. */
function updateRecipientDirectory(plugin: AuthRelay, startup: boolean): void {
  const problem = recipientCheckProblem(plugin.dirCfg, plugin.cfg)
  if (problem && startup) throw new Error(`config/auth_relay.ini is invalid: ${problem}`)
  if (problem) return plugin.logerror(`auth_relay.ini: ${problem}; recipients get 451 until this is fixed`)
  if (recipientDirectoryNeeded(plugin.dirCfg, plugin.cfg))
    plugin.recipients.update(recipientDirectoryConfig(plugin.dirCfg, plugin.cfg))
}

/** Local domains are Haraka's standard config/host_list. */
export function load_host_list(this: AuthRelay): void {
  const list = this.config.get('host_list', 'list', () => this.load_host_list()) as string[]
  this.localDomains = new Set(list.map((d) => canonicalDomain(d.trim())).filter(Boolean))
}

/** Every connection: answer 530 5.7.0 to MAIL without AUTH on submission ports, ahead of core's 550. */
export function gate_submission(this: AuthRelay, next: Next, connection: Connection): void {
  // ldap_auth reads these with the login's entry at AUTH: the sender check then needs no search
  noteSessionAttributes(connection, this.cfg.sender_attributes)
  const decide = (c: Connection): MailGateDecision => {
    const gate = submissionGate(this.cfg.submissionPorts, submitter(this, c))
    // A trusted network may submit without AUTH; core would refuse it on 587/465.
    if (gate === 'relay')
      c.loginfo(this, `trusted network ${c.remote.ip}: relaying without AUTH on port ${c.local.port}`)
    return gate
  }
  const refuse = (c: Connection) => void recordAuthRequired(this, c)
  if (!installMailGate(connection, decide, REPLIES.SUBMISSION_AUTH_REQUIRED, refuse))
    connection.logwarn(this, 'Connection#cmd_mail not found: MAIL without AUTH on 587/465 gets core 550')
  next()
}

export async function shutdown(this: AuthRelay): Promise<void> {
  await Promise.all([this.directory.close(), this.recipients.close(), stopAdmin(this), closeSharedState()])
}
