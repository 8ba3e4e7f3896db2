// One rule for "is this the same mailbox?", used for envelope senders, header
// addresses and the addresses the directory lists. Documented in the README
// (`sender_attributes`), unit-tested in test/unit/mail/address.test.ts.
//
// - The domain is case-insensitive (RFC 5321 §2.4); non-ASCII domains compare
//   in their A-label form; a trailing dot is kept, so `example.com.` never
//   equals `example.com`.
// - The local part is compared case-insensitively, because directories match
//   `mail` with caseIgnoreIA5Match: the directory itself cannot tell `Bob@` from
//   `bob@`. It is NFC-normalised, nothing else is rewritten.
// - A quoted local part is the same mailbox as its unquoted form only when the
//   quotes were unnecessary (RFC 5321 §4.1.2: `"bob"@` is `bob@`). Quoted text
//   that is not a plain dot-atom (`"bob@x"@`, `"a b"@`) stays quoted, so it can
//   never equal a plain address.
// - `%`, `!` and `+` are ordinary local-part characters here:
//   `bob%example.com@` is not `bob@`. Sub-addressing is a separate, opt-in rule.
import { domainToASCII } from 'node:url'

const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+)*$/u

export interface Mailbox {
  local: string
  domain: string
}

/** Split at the last `@`; null when there is none or either side is empty. */
export function splitAddress(address: string): Mailbox | null {
  const text = address.trim()
  const at = text.lastIndexOf('@')
  if (at <= 0 || at === text.length - 1) return null
  return { local: text.slice(0, at), domain: text.slice(at + 1) }
}

/** RFC 5321 quoted-string content, backslash pairs resolved; null when not a quoted string. */
export function unquoteLocal(local: string): string | null {
  if (local.length < 2 || !local.startsWith('"') || !local.endsWith('"')) return null
  const inner = local.slice(1, -1)
  let out = ''
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i]!
    if (ch === '\\') {
      const next = inner[i + 1]
      if (next === undefined) return null
      out += next
      i++
    } else if (ch === '"') {
      return null
    } else {
      out += ch
    }
  }
  return out
}

export function canonicalDomain(domain: string): string {
  const lower = domain.trim().toLowerCase()
  if (lower.startsWith('[') || /^[\x00-\x7f]*$/.test(lower)) return lower
  return domainToASCII(lower) || lower
}

/** The local part without quotes when they were unnecessary (`"bob"` is `bob`); otherwise as written (`"a b"`). */
export function withoutUnnecessaryQuotes(local: string): string {
  const unquoted = unquoteLocal(local)
  return unquoted !== null && DOT_ATOM.test(unquoted) ? unquoted : local
}

function canonicalLocal(local: string): string {
  return withoutUnnecessaryQuotes(local).normalize('NFC').toLowerCase()
}

/** The comparison form of `local@domain`; null for text that is not an address. */
export function canonicalAddress(address: string): string | null {
  const box = splitAddress(address)
  if (!box) return null
  return `${canonicalLocal(box.local)}@${canonicalDomain(box.domain)}`
}

/**
 * With sub-addressing on (`separator` e.g. `+`), `alice+tag@example.com` stands
 * for `alice@example.com`: the part from the first separator on is dropped.
 * Returns null when the address has no sub-address.
 */
export function withoutSubaddress(canonical: string, separator: string): string | null {
  if (!separator) return null
  const box = splitAddress(canonical)
  if (!box || box.local.startsWith('"')) return null
  const cut = box.local.indexOf(separator)
  if (cut <= 0) return null
  return `${box.local.slice(0, cut)}@${box.domain}`
}
