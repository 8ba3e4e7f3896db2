// ldap_auth: SMTP AUTH (RFC 4954) PLAIN and LOGIN, offered and accepted only
// under TLS, verified against the directory (and optionally a local
// credentials file and a cache). Thin: the exchange is lib/authn/sasl, the
// verdict lib/authn/authenticator within a deadline ./attempt, what each ending
// records lib/authn/decide (through haraka/record), session endings ./outcome,
// the AUTH limiter across connections ./limit and ./limit_hooks.
import constants from 'haraka-constants'
import type { Connection, Next } from 'haraka'
import { credentialCacheFor } from '../../lib/authn/authenticator'
import { authWarnings, LDAP_AUTH_INI } from '../../lib/authn/config'
import { EXCHANGE_ABANDONED, exchangeRefused } from '../../lib/authn/decide'
import { continueAuth, startAuth, type Step } from '../../lib/authn/sasl'
import { DirectoryHandle } from '../../lib/ldap/handle'
import { loadDirectoryConfig } from '../../haraka/directory_config'
import { countCacheLookup, ldapMetrics } from '../../haraka/metrics'
import { loadValidated } from '../../haraka/load_config'
import { closeSharedState, useSharedState } from '../../haraka/shared_state'
import { authUser, notePendingAuth, takePendingAuth, type PendingAuth } from '../../haraka/notes'
import { verifyAttempt, warnAboutBudget, type AttemptPlugin } from './attempt'
import { stopBanMirror } from './limit_hooks'
import {
  answerFailure,
  applyAuditSetting,
  countFailure,
  disconnectAfterFailures,
  logServerEvent,
} from './outcome'
import { markAuthCommand } from '../../haraka/notes'
import { AUTH_ENC_FILE_INI } from '../../lib/authn/local_users'
import { AUTH_CHALLENGE_CODE } from '../../lib/replies'

// The AUTH limiter's ini and connect hook (./limit), exported for Haraka with the rest.
export { limit_connect, load_auth_limits_ini } from './limit_hooks'

interface LdapAuth extends AttemptPlugin {
  load_ldap_auth_ini(): void
  load_ldap_directory_ini(): void
  load_auth_enc_file_ini(): void
  load_auth_limits_ini(): void
}

/** The exchange in progress, and the 334 line we sent (a stale one means another command came between). */

export function register(this: LdapAuth): void {
  this.directory = new DirectoryHandle(undefined, {
    onServerEvent: (e) => logServerEvent(this, e),
    observer: ldapMetrics,
  })
  this.load_ldap_auth_ini()
  this.load_ldap_directory_ini()
  this.load_auth_enc_file_ini()
  this.load_auth_limits_ini()
  useSharedState(this)
  this.register_hook('connect', 'limit_connect')
  this.register_hook('capabilities', 'advertise_auth')
  this.register_hook('unrecognized_command', 'auth_command')
}

export function load_ldap_auth_ini(this: LdapAuth): void {
  const previous = this.cfg
  this.cfg = loadValidated(this, LDAP_AUTH_INI, () => this.load_ldap_auth_ini(), this.cfg)
  if (this.cfg === previous) return
  renewCache(this)
  applyAuditSetting(this.cfg)
  for (const w of authWarnings(this.cfg)) this.logwarn(`ldap_auth.ini: ${w}`)
  warnAboutBudget(this)
}

export function load_ldap_directory_ini(this: LdapAuth): void {
  const previous = this.dirCfg
  this.dirCfg = loadDirectoryConfig(this, this.directory, this.dirCfg, () => this.load_ldap_directory_ini())
  if (previous && this.dirCfg !== previous) renewCache(this)
  if (this.dirCfg !== previous) warnAboutBudget(this)
}

export function load_auth_enc_file_ini(this: LdapAuth): void {
  this.localUsers = loadValidated(
    this,
    AUTH_ENC_FILE_INI,
    () => this.load_auth_enc_file_ini(),
    this.localUsers,
  )
  if (this.cfg.local_users !== 'off')
    this.loginfo(
      `auth_enc_file.ini: ${this.localUsers.size} local user(s), local_users=${this.cfg.local_users}`,
    )
}

/**
 * In memory, per process: a new configuration starts with a new, empty cache. The
 * old one is retired, not merely cleared, because an AUTH still running on the old
 * directory holds it and would store its verdict there after the reload.
 */
function renewCache(plugin: LdapAuth): void {
  plugin.cache?.retire()
  plugin.cache = credentialCacheFor(plugin.cfg, countCacheLookup)
}

/** EHLO: offer AUTH only on an encrypted session (RFC 4954 §4, RFC 8314). */
export function advertise_auth(this: LdapAuth, next: Next, connection: Connection): void {
  if (connection.tls.enabled && !authUser(connection)) {
    connection.capabilities.push(`AUTH ${this.cfg.mechanismList.join(' ')}`)
  }
  next()
}

/** The AUTH verb and the client's answers to our 334 challenges. */
export function auth_command(this: LdapAuth, next: Next, connection: Connection, params: string[]): void {
  const note = takePendingAuth(connection)
  let step: Step | undefined
  if (note) {
    if (note.prompt !== null && connection.last_response === note.prompt) {
      step = continueAuth(note.pending, params.join(' '))
      // Haraka logs params[0] of a hook that returns OK at INFO level; this line
      // is a credential (base64 password or PLAIN blob), so blank it first.
      params.splice(0, params.length, '<auth response>')
    } else {
      // Haraka answered another command (RSET, NOOP, MAIL...) after our 334: that
      // abandoned the exchange. It counts as a failure; this line is a new command.
      const log = `AUTH ${note.pending.mech} abandoned: the client sent another command instead of a response`
      const { last } = countFailure(this, connection, EXCHANGE_ABANDONED, log, { delay: false })
      if (last) return disconnectAfterFailures(next)
    }
  }
  if (!step) {
    if (String(params[0] ?? '').toUpperCase() !== 'AUTH') return next()
    markAuthCommand(connection, String(params[1] ?? ''))
    step = startAuth(params[1] ?? '', {
      tls: connection.tls.enabled,
      authenticated: Boolean(authUser(connection)),
      inTransaction: Boolean(connection.transaction),
      mechanisms: this.cfg.mechanismList,
    })
  }

  switch (step.kind) {
    case 'challenge': {
      const pendingNote: PendingAuth = { pending: step.pending, prompt: null }
      notePendingAuth(connection, pendingNote)
      connection.respond(AUTH_CHALLENGE_CODE, step.text, () => {
        pendingNote.prompt = connection.last_response
        next(constants.ok)
      })
      return
    }
    case 'reply': {
      const log = `AUTH refused: ${step.reason}${step.detail ? ` (${step.detail})` : ''}`
      return answerFailure(this, connection, next, exchangeRefused(step), log)
    }
    case 'verify':
      verifyAttempt(this, next, connection, step.credentials)
  }
}

export async function shutdown(this: LdapAuth): Promise<void> {
  stopBanMirror()
  await Promise.all([this.directory.close(), closeSharedState()])
}
