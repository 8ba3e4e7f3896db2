// The AUTH exchange of RFC 4954 for PLAIN (RFC 4616) and LOGIN, as a pure
// state machine: a command line in, an action out. The plugin does the I/O.
import { TextDecoder } from 'node:util'
import { REPLIES, type Reply } from '../replies'
import { hasControlCharacters, hasUnsafeLoginCharacters } from '../text'

export type Mechanism = 'PLAIN' | 'LOGIN'

/** Where a multi-step exchange stands; kept in connection notes between lines. */
export type Pending = { mech: 'PLAIN' } | { mech: 'LOGIN'; user?: string }

export interface Credentials {
  mech: Mechanism
  authcid: string
  authzid: string
  password: string
}

/** Why the exchange refuses a line: the results label `auth(<reason>)`. */
export type ExchangeRefusal =
  | 'no_tls'
  | 'syntax'
  | 'already_authenticated'
  | 'in_transaction'
  | 'unknown_mechanism'
  | 'cancelled'
  | 'bad_base64'
  | 'bad_utf8'
  | 'malformed_plain'
  | 'empty_authcid'
  | 'control_characters'

/** `auth(<reason>)`: a refused line, or an exchange the client left for another command after our 334. */
export type ExchangeReason = ExchangeRefusal | 'abandoned'

export type Step =
  | { kind: 'reply'; reply: Reply; reason: ExchangeRefusal; detail?: string }
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

// Fatal: invalid UTF-8 is refused, never replaced by U+FFFD (`78 FF` and `78 FE`
// would both be "x\uFFFD", one password for two byte strings). ignoreBOM: a leading
// EF BB BF stays a character instead of vanishing (`EF BB BF 78` is not `78`).
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function refuse(reply: Reply, reason: ExchangeRefusal, detail?: string): Step {
  return detail === undefined ? { kind: 'reply', reply, reason } : { kind: 'reply', reply, reason, detail }
}

export type Decoded = { ok: true; text: string } | { ok: false; reason: 'bad_base64' | 'bad_utf8' }

/**
 * Strict base64 (RFC 4648 alphabet, padding required) of strict UTF-8 (RFC 4616
 * §2; LOGIN has no specification, and is taken as the same); `=` alone is the
 * empty string (RFC 4954 §4).
 */
export function decodeResponse(text: string): Decoded {
  if (text === '=') return { ok: true, text: '' }
  if (!BASE64.test(text)) return { ok: false, reason: 'bad_base64' }
  try {
    return { ok: true, text: UTF8.decode(Buffer.from(text, 'base64')) }
  } catch {
    return { ok: false, reason: 'bad_utf8' }
  }
}

/** The decoded text, or the 501 5.5.2 refusal; `what` names the field for the log line. */
function decodeOrRefuse(b64: string, what: string): string | Step {
  const d = decodeResponse(b64)
  if (d.ok) return d.text
  if (d.reason === 'bad_base64') return refuse(REPLIES.AUTH_BAD_BASE64, 'bad_base64', `in the ${what}`)
  return refuse(REPLIES.AUTH_BAD_UTF8, 'bad_utf8', `in the ${what}`)
}

/**
 * Logins and passwords are text. A login (or authzid) must not hold what we would
 * not put in a log line or a header (lib/authn/login); a password must not hold
 * control characters, C0 (TAB included), DEL or C1: a NUL would end the string
 * for a C directory server, which then sees a shorter or empty password. RFC 4616
 * excludes only NUL; the others are refused too, as nothing a person types.
 */
type Field = 'authorization identity' | 'username' | 'password'

function controlRefusal(field: Field, text: string): Step | undefined {
  const bad = field === 'password' ? hasControlCharacters(text) : hasUnsafeLoginCharacters(text)
  return bad ? refuse(REPLIES.AUTH_CONTROL_CHARACTERS, 'control_characters', `in the ${field}`) : undefined
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
  if (!mech) return refuse(REPLIES.AUTH_UNKNOWN_MECHANISM, 'unknown_mechanism')
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
  const decoded = decodeOrRefuse(b64, 'PLAIN response')
  if (typeof decoded !== 'string') return decoded
  // message = [authzid] NUL authcid NUL passwd (RFC 4616 §2): exactly three fields.
  const fields = decoded.split('\0')
  if (fields.length !== 3) return refuse(REPLIES.AUTH_BAD_PLAIN, 'malformed_plain')
  const [authzid, authcid, password] = fields as [string, string, string]
  if (!authcid) return refuse(REPLIES.AUTH_BAD_PLAIN, 'empty_authcid')
  const refusal =
    controlRefusal('authorization identity', authzid) ??
    controlRefusal('username', authcid) ??
    controlRefusal('password', password)
  if (refusal) return refusal
  return { kind: 'verify', credentials: { mech: 'PLAIN', authzid, authcid, password } }
}

function loginResponse(pending: { mech: 'LOGIN'; user?: string }, b64: string): Step {
  if (b64 === '*') return refuse(REPLIES.AUTH_CANCELLED, 'cancelled')
  const field = pending.user === undefined ? 'username' : 'password'
  const decoded = decodeOrRefuse(b64, field)
  if (typeof decoded !== 'string') return decoded
  const refusal = controlRefusal(field, decoded)
  if (refusal) return refusal
  if (pending.user === undefined) {
    return { kind: 'challenge', text: PASSWORD_PROMPT, pending: { mech: 'LOGIN', user: decoded } }
  }
  return {
    kind: 'verify',
    credentials: { mech: 'LOGIN', authzid: '', authcid: pending.user, password: decoded },
  }
}

declare module '../decisions' {
  interface Reasons {
    auth: ExchangeReason
  }
}
