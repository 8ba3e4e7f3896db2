// Values inside an Authentication-Results header (RFC 8601 §2.2).

// A login like alice@example.com or alice is written as is; anything else
// (spaces, quotes, parentheses, non-ASCII) becomes a quoted-string.
const BARE = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+(@[A-Za-z0-9.-]+)?$/

export function authResultsValue(value: string): string {
  if (BARE.test(value)) return value
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/** The authserv-id of an Authentication-Results field value: the text before the first `;`, comments removed. */
export function authservIdOf(fieldValue: string): string {
  const head = fieldValue.split(';', 1)[0] ?? ''
  const noComments = head.replace(/\([^()]*\)/g, ' ')
  // authserv-id [ CFWS authres-version ]
  return (noComments.trim().split(/\s+/)[0] ?? '').toLowerCase()
}
