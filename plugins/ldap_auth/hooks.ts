// ldap_auth: SMTP AUTH (RFC 4954) PLAIN and LOGIN, offered and accepted only
// under TLS, verified against the directory (and optionally a local
// credentials file and a cache). Thin: the exchange is lib/authn/sasl, the
// verdict lib/authn/authenticator within a deadline ./attempt, what each ending
// records lib/authn/decide (through haraka/record), session endings ./outcome,
// the AUTH limiter across connections ./limit and ./limit_hooks.
import constants from 'haraka-constants'
import type { Connection, Next } from 'haraka'
import { EXCHANGE_ABANDONED, exchangeRefused } from '../../lib/authn/decide'
import { continueAuth, startAuth, type Step } from '../../lib/authn/sasl'
import { DirectoryHandle } from '../../lib/ldap/handle'
import { ldapMetrics } from '../../haraka/metrics'
import { closeSharedState, useSharedState } from '../../haraka/shared_state'
import { stopBanMirror } from './limit_hooks'
import {
  authUser,
  markAuthCommand,
  notePendingAuth,
  takePendingAuth,
  type PendingAuth,
} from '../../haraka/notes'
import { verifyAttempt } from './attempt'
import type { LoadingPlugin } from './load_ini'
import { answerFailure, countFailure, disconnectAfterFailures, logServerEvent } from './outcome'
import { registerAdminHooks, stopAdmin } from './admin'
import { AUTH_CHALLENGE_CODE } from '../../lib/replies'

// The ini loaders (./load_ini), the AUTH limiter's ini and connect hook (./limit), and the admin socket's hooks (./admin).
export { load_auth_enc_file_ini, load_ldap_auth_ini, load_ldap_directory_ini } from './load_ini'
export { limit_connect, load_auth_limits_ini } from './limit_hooks'
export { admin_init_child, admin_init_master } from './admin'

interface LdapAuth extends LoadingPlugin {
  load_auth_limits_ini(): void
}

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
  registerAdminHooks(this)
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
  await Promise.all([this.directory.close(), closeSharedState(), stopAdmin(this)])
}
