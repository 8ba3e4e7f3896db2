// The AUTH exchange of RFC 4954 for PLAIN (RFC 4616) and LOGIN, as a pure
// state machine: a command line in, an action out. The plugin does the I/O.
import { REPLIES, type Reply } from '../replies'

export type Mechanism = 'PLAIN' | 'LOGIN'

/** Where a multi-step exchange stands; kept in connection notes between lines. */
export type Pending = { mech: 'PLAIN' } | { mech: 'LOGIN'; user?: string }

export interface Credentials {
  mech: Mechanism
  authcid: string
  authzid: string
  password: string
}

export type Step =
  | { kind: 'reply'; reply: Reply; reason: string }
  | { kind: 'challenge'; text: string; pending: Pending }
  | { kind: 'verify'; credentials: Credentials }

export interface SessionState {
  tls: boolean
  authenticated: boolean
  inTransaction: boolean
  mechanisms: readonly Mechanism[]
}

const USERNAME_PROMPT = Buffer.from('Username:').toString('base64')
const PASSWORD_PROMPT = Buffer.from('Password:').toString('base64')
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

function refuse(reply: Reply, reason: string): Step {
  return { kind: 'reply', reply, reason }
}

/** Strict base64 (RFC 4648 alphabet, padding required); `=` alone is the empty string (RFC 4954 §4). */
export function decodeBase64(text: string): string | null {
  if (text === '=') return ''
  if (!BASE64.test(text)) return null
  return Buffer.from(text, 'base64').toString('utf8')
}

/** `AUTH <mech> [initial-response]` */
export function startAuth(args: string, state: SessionState): Step {
  const parts = args.trim().split(/ +/)
  const mechName = (parts[0] ?? '').toUpperCase()
  // Before TLS nothing about AUTH is looked at, not even the syntax.
  if (!state.tls) return refuse(REPLIES.AUTH_TLS_REQUIRED, 'no_tls')
  if (!mechName || parts.length > 2) return refuse(REPLIES.AUTH_SYNTAX, 'syntax')
  if (state.authenticated) return refuse(REPLIES.AUTH_ALREADY, 'already_authenticated')
  if (state.inTransaction) return refuse(REPLIES.AUTH_IN_TRANSACTION, 'in_transaction')
  const mech = state.mechanisms.find((m) => m === mechName)
  if (!mech) return refuse(REPLIES.AUTH_UNKNOWN_MECHANISM, `unknown_mechanism`)
  const initial = parts[1]
  if (mech === 'PLAIN') {
    return initial === undefined ? { kind: 'challenge', text: '', pending: { mech } } : plainResponse(initial)
  }
  if (initial === undefined) return { kind: 'challenge', text: USERNAME_PROMPT, pending: { mech } }
  return loginResponse({ mech }, initial)
}

/** A client line sent in answer to a 334 challenge. */
export function continueAuth(pending: Pending, line: string): Step {
  const text = line.trim()
  if (text === '*') return refuse(REPLIES.AUTH_CANCELLED, 'cancelled')
  return pending.mech === 'PLAIN' ? plainResponse(text) : loginResponse(pending, text)
}

function plainResponse(b64: string): Step {
  if (b64 === '*') return refuse(REPLIES.AUTH_CANCELLED, 'cancelled')
  const decoded = decodeBase64(b64)
  if (decoded === null) return refuse(REPLIES.AUTH_BAD_BASE64, 'bad_base64')
  // message = [authzid] NUL authcid NUL passwd (RFC 4616 §2): exactly three fields.
  const fields = decoded.split('\0')
  if (fields.length !== 3) return refuse(REPLIES.AUTH_BAD_PLAIN, 'malformed_plain')
  const [authzid, authcid, password] = fields as [string, string, string]
  if (!authcid) return refuse(REPLIES.AUTH_BAD_PLAIN, 'empty_authcid')
  return { kind: 'verify', credentials: { mech: 'PLAIN', authzid, authcid, password } }
}

function loginResponse(pending: { mech: 'LOGIN'; user?: string }, b64: string): Step {
  if (b64 === '*') return refuse(REPLIES.AUTH_CANCELLED, 'cancelled')
  const decoded = decodeBase64(b64)
  if (decoded === null) return refuse(REPLIES.AUTH_BAD_BASE64, 'bad_base64')
  if (pending.user === undefined) {
    return { kind: 'challenge', text: PASSWORD_PROMPT, pending: { mech: 'LOGIN', user: decoded } }
  }
  return { kind: 'verify', credentials: { mech: 'LOGIN', authzid: '', authcid: pending.user, password: decoded } }
}
