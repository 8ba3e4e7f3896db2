// ldap_auth: SMTP AUTH (RFC 4954) PLAIN and LOGIN, offered and accepted only
// under TLS, verified against the directory (and optionally a local
// credentials file and a cache). Thin: the exchange is lib/auth/sasl, the
// verdict lib/authn/verify, replies lib/replies, session endings ./outcome.
import constants from 'haraka-constants'
import type { Connection, Next } from 'haraka'
import { authWarnings, AUTH_SPEC, parseAuthConfig } from '../../lib/auth/config'
import { safeForLog } from '../../lib/auth/login'
import { continueAuth, startAuth, type Credentials, type Pending, type Step } from '../../lib/auth/sasl'
import { CredentialCache } from '../../lib/authn/cache'
import { verifyCredentials } from '../../lib/authn/verify'
import { booleanKeys } from '../../lib/config/schema'
import { parseLocalUsers, type LocalUsers } from '../../lib/credentials/file'
import { loadDirectoryConfig } from '../../lib/haraka/directory_config'
import { loadValidated } from '../../lib/haraka/load_config'
import type { DirectoryConfig } from '../../lib/ldap/config'
import { DirectoryHandle } from '../../lib/ldap/handle'
import { REPLIES, replyText } from '../../lib/replies'
import { answerFailure, answerSuccess, countFailure, logServerEvent, replyFor, type AuthPlugin } from './outcome'

interface LdapAuth extends AuthPlugin {
  dirCfg: DirectoryConfig
  directory: DirectoryHandle
  cache: CredentialCache
  localUsers: LocalUsers
  load_ldap_auth_ini(): void
  load_ldap_directory_ini(): void
  load_auth_enc_file_ini(): void
  verify(next: Next, connection: Connection, credentials: Credentials): void
}

/** The exchange in progress, and the 334 line we sent (a stale one means another command came between). */
interface PendingNote {
  pending: Pending
  prompt: string | null
}

const PENDING = 'ldap_auth_pending'


export function register(this: LdapAuth): void {
  this.directory = new DirectoryHandle(undefined, { onServerEvent: (e) => logServerEvent(this, e) })
  this.load_ldap_auth_ini()
  this.load_ldap_directory_ini()
  this.load_auth_enc_file_ini()
  this.register_hook('capabilities', 'advertise_auth')
  this.register_hook('unrecognized_command', 'auth_command')
}

export function load_ldap_auth_ini(this: LdapAuth): void {
  const previous = this.cfg
  this.cfg = loadValidated(this, 'ldap_auth.ini', booleanKeys('main', AUTH_SPEC), parseAuthConfig, () => this.load_ldap_auth_ini(), this.cfg)
  if (this.cfg === previous) return
  const c = this.cfg
  // In memory, per process; a new configuration starts with an empty cache.
  this.cache = new CredentialCache({ ttlMs: c.cache_ttl * 1000, negativeTtlMs: c.negative_cache_ttl * 1000, staleMs: c.cache_when_directory_down ? c.cache_stale_ttl * 1000 : 0, maxEntries: c.cache_size })
  for (const w of authWarnings(c)) this.logwarn(`ldap_auth.ini: ${w}`)
}

export function load_ldap_directory_ini(this: LdapAuth): void {
  const previous = this.dirCfg
  this.dirCfg = loadDirectoryConfig(this, this.directory, this.dirCfg, () => this.load_ldap_directory_ini())
  if (previous && this.dirCfg !== previous) this.cache?.clear()
}

export function load_auth_enc_file_ini(this: LdapAuth): void {
  this.localUsers = loadValidated(this, 'auth_enc_file.ini', [], parseLocalUsers, () => this.load_auth_enc_file_ini(), this.localUsers)
  if (this.cfg.local_users !== 'off') this.loginfo(`auth_enc_file.ini: ${this.localUsers.size} local user(s), local_users=${this.cfg.local_users}`)
}

/** EHLO: offer AUTH only on an encrypted session (RFC 4954 §4, RFC 8314). */
export function advertise_auth(this: LdapAuth, next: Next, connection: Connection): void {
  if (connection.tls.enabled && !connection.notes.auth_user) {
    connection.capabilities.push(`AUTH ${this.cfg.mechanismList.join(' ')}`)
  }
  next()
}

/** The AUTH verb and the client's answers to our 334 challenges. */
export function auth_command(this: LdapAuth, next: Next, connection: Connection, params: string[]): void {
  const note = connection.notes[PENDING] as PendingNote | undefined
  let step: Step | undefined
  if (note) {
    delete connection.notes[PENDING]
    if (note.prompt !== null && connection.last_response === note.prompt) {
      step = continueAuth(note.pending, params.join(' '))
      // Haraka logs params[0] of a hook that returns OK at INFO level; this line
      // is a credential (base64 password or PLAIN blob), so blank it first.
      params.splice(0, params.length, '<auth response>')
    } else {
      // Haraka answered another command (RSET, NOOP, MAIL...) after our 334: that
      // abandoned the exchange. It counts as a failure; this line is a new command.
      const { last } = countFailure(this, connection, 'auth(abandoned)', `AUTH ${note.pending.mech} abandoned: the client sent another command instead of a response`, { delay: false })
      if (last) return next(constants.denysoftdisconnect, replyText(REPLIES.AUTH_TOO_MANY_FAILURES))
    }
  }
  if (!step) {
    if (String(params[0] ?? '').toUpperCase() !== 'AUTH') return next()
    step = startAuth(params[1] ?? '', {
      tls: connection.tls.enabled,
      authenticated: Boolean(connection.notes.auth_user),
      inTransaction: Boolean(connection.transaction),
      mechanisms: this.cfg.mechanismList,
    })
  }

  switch (step.kind) {
    case 'challenge': {
      const pendingNote: PendingNote = { pending: step.pending, prompt: null }
      connection.notes[PENDING] = pendingNote
      connection.respond(334, step.text, () => {
        pendingNote.prompt = connection.last_response
        next(constants.ok)
      })
      return
    }
    case 'reply':
      return answerFailure(this, connection, next, step.reply, `auth(${step.reason})`, `AUTH refused: ${step.reason}`)
    case 'verify':
      this.verify(next, connection, step.credentials)
  }
}

export function verify(this: LdapAuth, next: Next, connection: Connection, credentials: Credentials): void {
  const { mech, authcid } = credentials
  const who = safeForLog(authcid)
  const ctx = { mode: this.dirCfg.mode as 'search' | 'template', cfg: this.cfg, cache: this.cache, localUsers: this.localUsers, readStateAsService: Boolean(this.dirCfg.bind_dn) }
  // use(): a reload of ldap_directory.ini meanwhile closes the old pools only after this attempt.
  this.directory
    .use((directory) => verifyCredentials({ ...ctx, directory }, credentials))
    .then((v) => {
      if (v.outcome === 'OK') return answerSuccess(this, connection, next, mech, { login: v.login!, user: v.user!, reason: v.reason })
      connection.results.add({ name: 'auth' }, { fail: `${this.name}/${mech}` })
      const log = `AUTH ${mech} failed for ${who}: ${v.rule}(${v.reason})${v.detail ? ` ${v.detail}` : ''}`
      // An outage is not the client's doing: counted, but answered without the delay.
      answerFailure(this, connection, next, replyFor(v.outcome), `${v.rule}(${v.reason})`, log, { delay: v.outcome !== 'DIRECTORY_DOWN' })
    })
    .catch((err: unknown) => {
      // A bug, not a directory outage (those are outcomes): still a temporary failure, never a 235.
      connection.logerror(this, `AUTH ${mech} error for ${who}: ${(err as Error).stack ?? String(err)}`)
      answerFailure(this, connection, next, REPLIES.AUTH_TEMPFAIL, 'authn(internal_error)', `AUTH ${mech} internal error for ${who}`, { delay: false })
    })
}

export async function shutdown(this: LdapAuth): Promise<void> {
  await this.directory.close()
}
