// auth_stamp: strip forged identity/stamp headers and our-authserv-id A-R from every message; for an
// authenticated session add a missing Date and Message-ID, the identity header (or, in verify mode,
// from a verified stamp), in sign mode the signed stamp, and give Haraka's A-R one resinfo with
// smtp.auth and smtp.mailfrom. Decisions: lib/stamp.
import constants from 'haraka-constants'
import type { Connection, Next, Plugin } from 'haraka'
import { safeForLog } from '../../lib/text'
import { booleanKeys } from '../../lib/config/schema'
import { addressOf } from '../../haraka/address'
import { authUser } from '../../haraka/notes'
import { hashMessageBody } from '../../haraka/body_hash'
import { toDsn } from '../../haraka/dsn'
import { loadDirectoryConfig } from '../../haraka/directory_config'
import { removeFields } from '../../haraka/header_edit'
import { loadValidated, type LoadPhase } from '../../haraka/load_config'
import { endChain, nextOnce } from '../../haraka/next_once'
import type { DirectoryConfig } from '../../lib/ldap/config'
import { DirectoryHandle } from '../../lib/ldap/handle'
import { REPLIES } from '../../lib/replies'
import { authPassClause, isAuthClause } from '../../lib/mail/auth_results'
import {
  describeStamp,
  parseStampConfig,
  STAMP_SPEC,
  stampWarnings,
  type StampConfig,
} from '../../lib/stamp/config'
import { identityValue, identityWithoutDirectory, type IdentityValue } from '../../lib/stamp/identity'
import { receivedAuthComment } from '../../lib/stamp/received'
import {
  addedLabel,
  headersToAdd,
  inspectMessage,
  malformedFieldsNote,
  missingSubmissionFields,
  signPlan,
  StampResults,
  verdictLabel,
  verifyNeedsBody,
  type Inspection,
} from '../../lib/stamp/plan'
import { BARE_CR_PRIORITY } from './bare_cr'
export { watch_bare_cr, bare_cr_gate } from './bare_cr'

export interface AuthStamp extends Plugin {
  cfg: StampConfig
  dirCfg: DirectoryConfig | undefined
  directory: DirectoryHandle
  load_auth_stamp_ini(phase: LoadPhase): void
  load_ldap_directory_ini(phase: LoadPhase): void
}

export function register(this: AuthStamp): void {
  this.directory = new DirectoryHandle()
  this.load_auth_stamp_ini('startup')
  this.register_hook('mail', 'name_in_received')
  this.register_hook('data', 'watch_bare_cr', BARE_CR_PRIORITY)
  this.register_hook('data_post', 'bare_cr_gate', BARE_CR_PRIORITY)
  this.register_hook('data_post', 'stamp_message')
}

/** phase: startup from register(), reload from haraka-config's watch callback (where nothing may throw). */
export function load_auth_stamp_ini(this: AuthStamp, phase: LoadPhase): void {
  const previous = this.cfg
  const parse = (raw: Record<string, any>) =>
    parseStampConfig(raw, { baseDir: process.env.HARAKA ?? process.cwd() })
  this.cfg = loadValidated(
    this,
    'auth_stamp.ini',
    booleanKeys('main', STAMP_SPEC),
    parse,
    () => this.load_auth_stamp_ini('reload'),
    previous,
    phase,
  )
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

/** The identity header's value; identity_value=address without a usable ldap_directory.ini stamps the login, recorded. */
function identityFor(plugin: AuthStamp, cfg: StampConfig, login: string): Promise<IdentityValue> {
  if (cfg.identity_value !== 'address') return Promise.resolve({ value: login })
  if (!plugin.dirCfg) return Promise.resolve(identityWithoutDirectory(login))
  // Stay well inside Haraka's plugin timeout, whatever the directory's own timeouts add up to.
  const budgetMs = Math.max(1000, (plugin.timeout || 30) * 1000 - 5000)
  const mode = plugin.dirCfg.mode
  return plugin.directory.use((d) =>
    identityValue(d, { mode, login, attribute: cfg.address_attribute, budgetMs }),
  )
}

/** data_post: in verify mode a stamp is checked against the body, so that is hashed (streamed) first. */
export function stamp_message(this: AuthStamp, next: Next, connection: Connection): void {
  const txn = connection.transaction
  if (!txn) return next()
  const cfg = this.cfg
  const login = authUser(connection)
  let readBody = false
  try {
    readBody = verifyNeedsBody(txn.header.header_list, cfg, { login, peerIp: connection.remote.ip })
  } catch {
    // stampMessage meets the same error where it strips, and refuses the message
  }
  if (!readBody) return stampMessage(this, next, connection, cfg, undefined)
  const done = nextOnce(next)
  const chain = hashMessageBody(txn.message_stream)
    .catch((err: unknown) => {
      connection.logwarn(this, `cannot read the body to check the stamp: ${(err as Error).message}`)
      return undefined
    })
    .then((bodyHash) => stampMessage(this, done, connection, cfg, bodyHash))
  endChain(chain, done, (m) => connection.logerror(this, m), constants.denysoft, toDsn(REPLIES.STAMP_FAILED))
}

function stampMessage(
  plugin: AuthStamp,
  next: Next,
  connection: Connection,
  cfg: StampConfig,
  bodyHash: string | undefined,
): void {
  const txn = connection.transaction
  if (!txn) return next()
  const login = authUser(connection)
  const mailFrom = addressOf(txn.mail_from)
  const now = Math.floor(Date.now() / 1000)
  let found: Inspection
  try {
    found = inspectMessage(txn.header.header_list, cfg, {
      login,
      mailFrom,
      authservId: connection.local.host.toLowerCase(),
      pendingAuthResults: connection.auth_results(),
      now,
      peerIp: connection.remote.ip,
      bodyHash,
    })
    removeFields(txn.header, found.remove)
    if (found.malformed.length) connection.lognotice(plugin, malformedFieldsNote(found)!)
  } catch (err) {
    // Fail closed: a message whose forged stamp headers could not be removed is not accepted.
    connection.logerror(plugin, `could not strip stamp headers: ${(err as Error).stack ?? String(err)}`)
    return next(constants.denysoft, toDsn(REPLIES.STAMP_FAILED))
  }
  const results = new StampResults()
  if (found.verdict) {
    results.add(verdictLabel(found.verdict))
    if (!found.verdict.valid && found.verdict.reason !== 'no_stamp') {
      connection.lognotice(plugin, `stamp removed: ${found.verdict.reason}: ${found.verdict.detail}`)
    }
  }
  if (login) {
    // One resinfo with smtp.auth and smtp.mailfrom, per transaction, instead of the session's auth= clause.
    const notes = connection.notes.authentication_results
    if (Array.isArray(notes))
      connection.notes.authentication_results = notes.filter((c: string) => !isAuthClause(c))
    const mechanism = connection.notes.auth_method ?? connection.results.get('auth')?.method
    connection.auth_results(
      authPassClause({ login, mechanism, mailFrom: cfg.auth_results_mailfrom ? mailFrom : '' }),
    )
  }
  // One results entry, and through emit one log line, per message.
  const record = () => txn.results.add(plugin, { ...results.summary(found), emit: true })
  const identity = found.identity
  if (!identity) {
    results.add({ skip: 'stamp(unauthenticated)' })
    record()
    return next()
  }
  const done = nextOnce(next)
  // Even a synchronous throw of the lookup lands in the .catch below.
  const chain = Promise.resolve()
    .then(() => {
      // RFC 6409 §8.2, §8.3: a submission gets the Date and Message-ID it lacks, before it is signed.
      if (identity.source !== 'session' || !cfg.add_date_message_id) return
      const added = missingSubmissionFields(txn.header.header_list, { host: connection.local.host, now })
      for (const h of added) {
        txn.add_header(h.name, h.value)
        results.add(addedLabel(h))
      }
      if (added.length)
        connection.loginfo(plugin, `added ${added.map((h) => `${h.name}: ${h.value}`).join(', ')} (missing)`)
    })
    .then(() => identityFor(plugin, cfg, identity.login))
    .then(async (id) => {
      results.add(id.label)
      if (id.fallback)
        connection.logwarn(
          plugin,
          `identity for ${safeForLog(identity.login)}: ${id.fallback}; stamping the login`,
        )
      const plan = signPlan(cfg, identity, txn.header.header_list)
      let signedBody: string | undefined
      if (plan.obstacle) {
        results.add({ fail: `sign(${plan.obstacle})` })
        connection.lognotice(plugin, plan.detail!)
      } else if (plan.sign) {
        try {
          signedBody = await hashMessageBody(txn.message_stream)
        } catch (err) {
          results.add({ err: 'sign(body_unreadable)' })
          connection.logerror(plugin, `not signed: cannot read the body: ${(err as Error).message}`)
        }
      }
      const fields = txn.header.header_list
      const opts = { identityValue: id.value, identity, mailFrom, fields, now, bodyHash: signedBody }
      for (const h of headersToAdd(cfg, opts)) txn.add_leading_header(h.name, h.value)
      results.add({ pass: identity.source === 'stamp' ? 'stamp(identity_from_stamp)' : 'stamp(identity)' })
      if (plan.sign && signedBody !== undefined) results.add({ pass: 'stamp(signed)' })
    })
    .catch((err: unknown) => {
      // A bug, not an outage (identityValue falls back to the login): the message still goes through.
      connection.logerror(plugin, `stamping failed: ${(err as Error).stack ?? String(err)}`)
      results.add({ err: 'stamp(internal_error)' })
    })
    .then(record)
  // The forged fields are gone by now, so a bug in the bookkeeping lets the message go on (CONT).
  endChain(
    chain.then(() => done()),
    done,
    (m) => connection.logerror(plugin, m),
  )
}

export async function shutdown(this: AuthStamp): Promise<void> {
  await this.directory.close()
}
