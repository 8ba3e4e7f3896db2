// auth_stamp: strip forged identity/stamp headers and our-authserv-id A-R from every message; for an
// authenticated session add a missing Date and Message-ID, the identity header (or, in verify mode,
// from a verified stamp), in sign mode the signed stamp, and give Haraka's A-R one resinfo with
// smtp.auth and smtp.mailfrom; refuse, remove or let through a bare CR in the data. The hooks:
// here the configuration and MAIL, ./message and ./stamp at data_post, ./bare_cr at DATA.
// Decisions: lib/stamp.
import type { Connection, Next } from 'haraka'
import { authUser } from '../../haraka/notes'
import { loadDirectoryConfig } from '../../haraka/directory_config'
import { loadValidated, type LoadPhase } from '../../haraka/load_config'
import { DirectoryHandle } from '../../lib/ldap/handle'
import { ldapMetrics } from '../../haraka/metrics'
import { describeStamp, stampWarnings, authStampIni } from '../../lib/stamp/config'
import { receivedAuthComment } from '../../lib/stamp/received'
import { BARE_CR_PRIORITY } from './bare_cr'
import type { AuthStamp } from './plugin'
export { watch_bare_cr, bare_cr_gate } from './bare_cr'
export { stamp_message } from './message'

export function register(this: AuthStamp): void {
  this.directory = new DirectoryHandle(undefined, { observer: ldapMetrics })
  this.load_auth_stamp_ini('startup')
  this.register_hook('mail', 'name_in_received')
  this.register_hook('data', 'watch_bare_cr', BARE_CR_PRIORITY)
  this.register_hook('data_post', 'bare_cr_gate', BARE_CR_PRIORITY)
  this.register_hook('data_post', 'stamp_message')
}

/** phase: startup from register(), reload from haraka-config's watch callback (where nothing may throw). */
export function load_auth_stamp_ini(this: AuthStamp, phase: LoadPhase): void {
  const previous = this.cfg
  const ini = authStampIni(process.env.HARAKA ?? process.cwd())
  this.cfg = loadValidated(this, ini, () => this.load_auth_stamp_ini('reload'), previous, phase)
  if (this.cfg === previous) return
  this.loginfo(describeStamp(this.cfg))
  for (const w of stampWarnings(this.cfg)) this.logwarn(`auth_stamp.ini: ${w}`)
  // The directory is opened only while identity_value=address needs it.
  if (this.cfg.identity_value === 'address' && !this.dirCfg) this.load_ldap_directory_ini(phase)
  if (this.cfg.identity_value !== 'address' && this.dirCfg) {
    this.dirCfg = undefined
    void this.directory.close()
  }
}

export function load_ldap_directory_ini(this: AuthStamp, phase: LoadPhase): void {
  if (this.cfg.identity_value !== 'address') return
  this.dirCfg = loadDirectoryConfig(
    this,
    this.directory,
    this.dirCfg,
    () => this.load_ldap_directory_ini('reload'),
    phase,
  )
  if (!this.dirCfg)
    this.logerror(
      'identity_value=address: ldap_directory.ini is not usable; the login is stamped until it is fixed',
    )
}

/** MAIL: Haraka writes the Received line at DATA from connection.authheader; name the login only if configured. */
export function name_in_received(this: AuthStamp, next: Next, connection: Connection): void {
  const login = authUser(connection)
  if (login) connection.authheader = receivedAuthComment(this.cfg.received_login ? login : undefined)
  next()
}

export async function shutdown(this: AuthStamp): Promise<void> {
  await this.directory.close()
}
