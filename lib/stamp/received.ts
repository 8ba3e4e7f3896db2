// The comment Haraka appends to its Received line for an authenticated session
// (connection.authheader; with it Haraka says ESMTPA/ESMTPSA, RFC 3848).

/** `(authenticated bits=0)`, or `(authenticated user=<login> bits=0)` when the login may be named. */
export function receivedAuthComment(login?: string): string {
  if (!login) return '(authenticated bits=0)'
  return `(authenticated user=${commentText(login)} bits=0)`
}

/**
 * Text safe inside an RFC 5322 comment: `(`, `)` and `\` become quoted-pairs,
 * and anything outside printable ASCII (controls, CR/LF, non-ASCII) becomes `?`,
 * so the login can neither end the comment nor the header line.
 */
function commentText(text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, '?').replace(/[()\\]/g, (c) => `\\${c}`)
}
