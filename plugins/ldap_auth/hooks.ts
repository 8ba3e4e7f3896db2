// ldap_auth: SMTP AUTH (RFC 4954) PLAIN and LOGIN, offered and accepted only
// under TLS, verified by binding to the directory. Thin: the exchange is
// lib/auth/sasl, the password check lib/auth/authenticate, replies lib/replies.
import constants from 'haraka-constants'
import type { Connection, Next, Plugin } from 'haraka'
import { AUTH_SPEC, parseAuthConfig, type AuthConfig } from '../../lib/auth/config'
import { authenticate, type AuthnOutcome } from '../../lib/auth/authenticate'
import { safeForLog } from '../../lib/auth/login'
import { continueAuth, startAuth, type Credentials, type Pending, type Step } from '../../lib/auth/sasl'
import { booleanKeys } from '../../lib/config/schema'
import { loadDirectoryConfig } from '../../lib/haraka/directory_config'
import { loadValidated } from '../../lib/haraka/load_config'
import type { DirectoryConfig } from '../../lib/ldap/config'
import { DirectoryHandle } from '../../lib/ldap/handle'
import { REPLIES, replyText, type Reply } from '../../lib/replies'
import { authResultsValue } from '../../lib/stamp/auth_results'

interface LdapAuth extends Plugin {
  cfg: AuthConfig
  dirCfg: DirectoryConfig
  directory: DirectoryHandle
  load_ldap_auth_ini(): void
  load_ldap_directory_ini(): void
  verify(next: Next, connection: Connection, credentials: Credentials): void
}

const PENDING = 'ldap_auth_pending'

const OUTCOME_REPLY: Record<AuthnOutcome, Reply> = {
  OK: REPLIES.AUTH_OK,
  PASSWORD_MISMATCH: REPLIES.AUTH_FAILED,
  USER_UNKNOWN: REPLIES.AUTH_FAILED,
  AMBIGUOUS: REPLIES.AUTH_FAILED,
  EMPTY_PASSWORD: REPLIES.AUTH_FAILED,
  INVALID_LOGIN: REPLIES.AUTH_FAILED,
  DIRECTORY_DOWN: REPLIES.AUTH_TEMPFAIL,
}

export function register(this: LdapAuth): void {
  this.directory = new DirectoryHandle()
  this.load_ldap_auth_ini()
  this.load_ldap_directory_ini()
  this.register_hook('capabilities', 'advertise_auth')
  this.register_hook('unrecognized_command', 'auth_command')
}

export function load_ldap_auth_ini(this: LdapAuth): void {
  this.cfg = loadValidated(this, 'ldap_auth.ini', booleanKeys('main', AUTH_SPEC), parseAuthConfig, () => this.load_ldap_auth_ini(), this.cfg)
}

export function load_ldap_directory_ini(this: LdapAuth): void {
  this.dirCfg = loadDirectoryConfig(this, this.directory, this.dirCfg, () => this.load_ldap_directory_ini())
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
  const pending = connection.notes[PENDING] as Pending | undefined
  let step: Step
  if (pending) {
    delete connection.notes[PENDING]
    step = continueAuth(pending, params.join(' '))
    // Haraka logs params[0] of a hook that returns OK at INFO level; this line
    // is a credential (base64 password or PLAIN blob), so blank it first.
    params.splice(0, params.length, '<auth response>')
  } else {
    if (String(params[0] ?? '').toUpperCase() !== 'AUTH') return next()
    step = startAuth(params[1] ?? '', {
      tls: connection.tls.enabled,
      authenticated: Boolean(connection.notes.auth_user),
      inTransaction: Boolean(connection.transaction),
      mechanisms: this.cfg.mechanismList,
    })
  }

  switch (step.kind) {
    case 'challenge':
      connection.notes[PENDING] = step.pending
      connection.respond(334, step.text, () => next(constants.ok))
      return
    case 'reply':
      connection.lognotice(this, `AUTH refused: ${step.reason}`)
      connection.results.add(this, { fail: `auth(${step.reason})` })
      connection.respond(step.reply.code, replyText(step.reply), () => next(constants.ok))
      return
    case 'verify':
      this.verify(next, connection, step.credentials)
  }
}

export function verify(this: LdapAuth, next: Next, connection: Connection, credentials: Credentials): void {
  const { mech, authcid, authzid, password } = credentials
  const who = safeForLog(authcid)
  const fail = (reply: Reply, reason: string) => {
    connection.notes.auth_fails = (connection.notes.auth_fails ?? 0) + 1
    connection.results.add({ name: 'auth' }, { fail: `${this.name}/${mech}` })
    connection.results.add(this, { fail: `authn(${reason.split(':')[0]})` })
    connection.lognotice(this, `AUTH ${mech} failed for ${who}: ${reason}`)
    connection.respond(reply.code, replyText(reply), () => next(constants.ok))
  }
  // Acting as another identity (RFC 4616 authzid) is not supported: refuse rather than ignore it.
  if (authzid && authzid !== authcid) return fail(REPLIES.AUTH_FAILED, 'authzid_not_permitted')

  authenticate(this.directory.directory, this.dirCfg.mode as 'search' | 'template', authcid, password)
    .then((result) => {
      if (result.outcome !== 'OK' || !result.login) return fail(OUTCOME_REPLY[result.outcome], result.reason)
      const login = result.login
      // The success contract of Haraka's auth_base, which karma, relay and headers read.
      connection.relaying = true
      connection.results.add({ name: 'relay' }, { pass: this.name })
      connection.results.add({ name: 'auth' }, { pass: this.name, method: mech, user: login })
      connection.results.add(this, { pass: 'authn(bind_ok)' })
      connection.loginfo(this, `AUTH ${mech} succeeded for ${safeForLog(login)}`)
      connection.respond(REPLIES.AUTH_OK.code, replyText(REPLIES.AUTH_OK), () => {
        connection.authheader = '(authenticated bits=0)\n'
        connection.auth_results(`auth=pass (${mech.toLowerCase()}) smtp.auth=${authResultsValue(login)}`)
        connection.notes.auth_user = login
        connection.notes.auth_method = mech
        next(constants.ok)
      })
    })
    .catch((err: unknown) => {
      // A bug, not a directory outage (those are outcomes): still a temporary failure, never a 235.
      connection.logerror(this, `AUTH ${mech} error for ${who}: ${(err as Error).stack ?? String(err)}`)
      fail(REPLIES.AUTH_TEMPFAIL, 'internal_error')
    })
}

export async function shutdown(this: LdapAuth): Promise<void> {
  await this.directory.close()
}
