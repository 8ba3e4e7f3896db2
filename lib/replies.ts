// Every SMTP reply our plugins give, in one table: a typed outcome maps to a
// code, an enhanced status code (RFC 3463/5248) and text. Hooks render these;
// nothing else makes up reply text. Below the table, the maps from a judge's
// reasons to its replies.

export interface Reply {
  readonly code: number
  readonly enh: string
  readonly text: string
}

export const REPLIES = {
  // AUTH (RFC 4954 §4, §6)
  AUTH_OK: { code: 235, enh: '2.7.0', text: 'Authentication successful' },
  AUTH_FAILED: { code: 535, enh: '5.7.8', text: 'Authentication credentials invalid' },
  AUTH_TEMPFAIL: { code: 454, enh: '4.7.0', text: 'Temporary authentication failure, try again later' },
  AUTH_TLS_REQUIRED: {
    code: 538,
    enh: '5.7.11',
    text: 'Encryption required for requested authentication mechanism',
  },
  AUTH_CANCELLED: { code: 501, enh: '5.7.0', text: 'Authentication cancelled' },
  AUTH_BAD_BASE64: { code: 501, enh: '5.5.2', text: 'Cannot decode base64 response' },
  AUTH_BAD_PLAIN: { code: 501, enh: '5.5.2', text: 'Malformed PLAIN response' },
  AUTH_BAD_UTF8: { code: 501, enh: '5.5.2', text: 'Credentials must be valid UTF-8' },
  AUTH_CONTROL_CHARACTERS: {
    code: 501,
    enh: '5.5.2',
    text: 'Control characters are not allowed in credentials',
  },
  AUTH_SYNTAX: { code: 501, enh: '5.5.4', text: 'Syntax: AUTH mechanism [initial-response]' },
  AUTH_UNKNOWN_MECHANISM: { code: 504, enh: '5.5.4', text: 'Unrecognized authentication mechanism' },
  AUTH_ALREADY: { code: 503, enh: '5.5.1', text: 'Already authenticated' },
  AUTH_IN_TRANSACTION: { code: 503, enh: '5.5.1', text: 'AUTH not permitted during a mail transaction' },
  AUTH_TOO_MANY_FAILURES: {
    code: 421,
    enh: '4.7.0',
    text: 'Too many failed authentication attempts, closing connection',
  },
  // The AUTH limiter (lib/limiter): a ban or a login's lock at AUTH, an address or subnet ban at connect
  AUTH_LIMITED: {
    code: 454,
    enh: '4.7.0',
    text: 'Too many failed authentication attempts, try again later',
  },
  CONNECT_LIMITED: {
    code: 421,
    enh: '4.7.0',
    text: 'Too many failed authentication attempts from your network, try again later',
  },

  // Relay and sender policy
  RELAY_DENIED: { code: 550, enh: '5.7.1', text: 'Relaying denied: authenticate first' },
  SUBMISSION_AUTH_REQUIRED: { code: 530, enh: '5.7.0', text: 'Authentication required' },
  SENDER_NOT_OWNED: { code: 553, enh: '5.7.1', text: 'Sender address not owned by the authenticated user' },
  NULL_SENDER_REFUSED: { code: 553, enh: '5.7.1', text: 'Null sender not permitted for authenticated users' },
  DIRECTORY_TEMPFAIL: { code: 451, enh: '4.4.3', text: 'Directory unavailable, try again later' },
  RELAY_DENIED_IP_LITERAL: {
    code: 550,
    enh: '5.7.1',
    text: 'Relaying denied: address literal is not this server',
  },
  RCPT_UNKNOWN_USER: { code: 550, enh: '5.1.1', text: 'No such user here' },
  INBOUND_LOCAL_SPOOF: { code: 550, enh: '5.7.1', text: 'Sender in a local domain must authenticate' },
  HEADER_FROM_NOT_OWNED: {
    code: 550,
    enh: '5.7.1',
    text: 'From header address not owned by the authenticated user',
  },
  HEADER_SENDER_NOT_OWNED: {
    code: 550,
    enh: '5.7.1',
    text: 'Sender header address not owned by the authenticated user',
  },
  HEADER_SENDER_REQUIRED: {
    code: 550,
    enh: '5.7.1',
    text: 'Several From addresses need a Sender header (RFC 5322 3.6.2)',
  },
  HEADER_UNPARSEABLE: { code: 550, enh: '5.7.1', text: 'From or Sender header cannot be parsed' },
  HEADER_MALFORMED_FIELD_NAME: {
    code: 550,
    enh: '5.7.1',
    text: 'Malformed header field name (RFC 5322 2.2: printable ASCII only, then a colon)',
  },
  HEADER_TOO_LARGE: { code: 550, enh: '5.7.1', text: 'From or Sender header too large' },
  HEADER_TOO_MANY_ADDRESSES: { code: 550, enh: '5.7.1', text: 'Too many From or Sender addresses' },
  // Containment (lib/containment): the shared state could not be read or written (fails closed)
  CONTAIN_UNAVAILABLE: { code: 451, enh: '4.3.0', text: 'Sending limits cannot be checked, try again later' },
  // a bug in a MAIL/RCPT/DATA check (haraka/next_once): fails closed, temporarily
  RELAY_INTERNAL_ERROR: { code: 451, enh: '4.3.0', text: 'Local error in processing, try again later' },

  // Local queue (demo/test sink)
  QUEUE_FAILED: { code: 451, enh: '4.3.0', text: 'Could not store the message, try again later' },

  // Stamp (auth_stamp): forged stamp headers could not be removed, so the message is not accepted
  STAMP_FAILED: { code: 451, enh: '4.3.0', text: 'Could not process the message headers, try again later' },
  // Message data (auth_stamp, every message, bare_cr=refuse): a CR not followed by LF (RFC 5321 §2.3.8)
  BARE_CR_REFUSED: {
    code: 550,
    enh: '5.6.0',
    text: 'Message refused: bare CR in the data; lines must end in CRLF',
  },
} as const satisfies Record<string, Reply>

export type ReplyName = keyof typeof REPLIES

/** A relay trick at RCPT, `what` it is as lib/relay/tricks names it: 550 5.7.1 `Relaying denied: <what>`. */
export function relayTrickReply(what: string): Reply {
  return { code: 550, enh: '5.7.1', text: `Relaying denied: ${what}` }
}

/** Containment: the login crossed `budget`, and is deferred for that budget's window. */
export function containDeferredReply(budget: string): Reply {
  return { code: 451, enh: '4.7.1', text: `Sending limit reached (${budget}), try again later` }
}

/** Containment: the login is suspended (by `rule`), no relay at all until an operator releases it. */
export function containSuspendedReply(rule: string): Reply {
  return {
    code: 550,
    enh: '5.7.1',
    text: `Sending suspended for this login (${rule}), contact your administrator`,
  }
}

/** header_alignment's refusals, by the problem lib/authz/headers and lib/authz/alignment find. */
export const HEADER_REPLIES = {
  unparseable: REPLIES.HEADER_UNPARSEABLE,
  malformed_field_name: REPLIES.HEADER_MALFORMED_FIELD_NAME,
  from_not_owned: REPLIES.HEADER_FROM_NOT_OWNED,
  sender_not_owned: REPLIES.HEADER_SENDER_NOT_OWNED,
  sender_required: REPLIES.HEADER_SENDER_REQUIRED,
  too_large: REPLIES.HEADER_TOO_LARGE,
  too_many_addresses: REPLIES.HEADER_TOO_MANY_ADDRESSES,
} as const satisfies Record<string, Reply>

/** AUTH's continuation (RFC 4954 §4): `334 <challenge>`, the challenge made by lib/authn/sasl. */
export const AUTH_CHALLENGE_CODE = 334

/** `<enh> <text>` as Haraka's respond() wants after the code. */
export function replyText(reply: Reply): string {
  return `${reply.enh} ${reply.text}`
}

/**
 * How an AUTH attempt ends (lib/authn/verify), after Dovecot's passdb results. Declared
 * here, with its replies, so the reply table depends on nothing above it.
 */
export type AuthOutcome =
  | 'OK'
  | 'PASSWORD_MISMATCH'
  | 'USER_UNKNOWN'
  | 'AMBIGUOUS'
  | 'EMPTY_PASSWORD'
  | 'INVALID_LOGIN'
  | 'ACCOUNT_REFUSED'
  | 'AUTHZID_REFUSED'
  | 'DIRECTORY_DOWN'

const AUTH_OUTCOME_REPLY: Record<AuthOutcome, Reply> = {
  OK: REPLIES.AUTH_OK,
  PASSWORD_MISMATCH: REPLIES.AUTH_FAILED,
  USER_UNKNOWN: REPLIES.AUTH_FAILED,
  AMBIGUOUS: REPLIES.AUTH_FAILED,
  EMPTY_PASSWORD: REPLIES.AUTH_FAILED,
  INVALID_LOGIN: REPLIES.AUTH_FAILED,
  ACCOUNT_REFUSED: REPLIES.AUTH_FAILED,
  AUTHZID_REFUSED: REPLIES.AUTH_FAILED,
  DIRECTORY_DOWN: REPLIES.AUTH_TEMPFAIL,
}

/** Only OK is 235 and only an outage is 454: every refusal is the same 535 5.7.8 (no probing). */
export function authReplyFor(outcome: AuthOutcome): Reply {
  return AUTH_OUTCOME_REPLY[outcome]
}
