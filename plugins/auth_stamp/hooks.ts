// auth_stamp: on every message, remove client-supplied copies of our identity
// header and of Authentication-Results claiming our authserv-id; then, for an
// authenticated session, add the identity header. Authentication-Results itself
// is assembled by Haraka from the clause ldap_auth records (auth=pass smtp.auth=).
import type { Connection, Next, Plugin } from 'haraka'
import { booleanKeys } from '../../lib/config/schema'
import { removeFields } from '../../lib/haraka/header_edit'
import { loadValidated } from '../../lib/haraka/load_config'
import { parseStampConfig, STAMP_SPEC, type StampConfig } from '../../lib/stamp/config'
import { forgedFieldIndexes } from '../../lib/stamp/fields'

interface AuthStamp extends Plugin {
  cfg: StampConfig
  load_auth_stamp_ini(): void
}

export function register(this: AuthStamp): void {
  this.load_auth_stamp_ini()
  this.register_hook('data_post', 'stamp_message')
}

export function load_auth_stamp_ini(this: AuthStamp): void {
  this.cfg = loadValidated(this, 'auth_stamp.ini', booleanKeys('main', STAMP_SPEC), parseStampConfig, () => this.load_auth_stamp_ini(), this.cfg)
}

export function stamp_message(this: AuthStamp, next: Next, connection: Connection): void {
  const txn = connection.transaction
  if (!txn) return next()
  const forged = forgedFieldIndexes(txn.header.header_list, {
    identityHeaders: new Set([this.cfg.identity_header.toLowerCase()]),
    authservId: connection.local.host.toLowerCase(),
  })
  if (forged.length) {
    removeFields(txn.header, forged)
    txn.results.add(this, { removed: forged.length })
    connection.lognotice(this, `removed ${forged.length} client-supplied stamp header(s)`)
  }
  const login = connection.notes.auth_user
  if (typeof login === 'string' && login) {
    txn.add_leading_header(this.cfg.identity_header, login)
    txn.results.add(this, { pass: 'stamp(identity)' })
  } else {
    txn.results.add(this, { skip: 'stamp(unauthenticated)' })
  }
  next()
}
