// Escaping of untrusted values before they enter an LDAP filter or DN.
// Every client-supplied string passes through one of these; nothing else may
// splice a login into LDAP syntax.

/**
 * RFC 4515 §3 assertion value: `*`, `(`, `)`, `\` and NUL must be escaped as
 * `\XX`; we also escape the other control characters. Non-ASCII characters
 * stay as they are (UTF-8 is valid in a filter string): ldapts' filter parser
 * turns each `\XX` into one Latin-1 character before encoding the value as
 * UTF-8, so escaping "é" as `\c3\a9` would send four bytes and match nobody.
 */
export function escapeFilterValue(value: string): string {
  let out = ''
  for (const ch of value) {
    const code = ch.codePointAt(0)!
    const special = code === 0x2a || code === 0x28 || code === 0x29 || code === 0x5c
    out += code < 0x20 || code === 0x7f || special ? `\\${code.toString(16).padStart(2, '0')}` : ch
  }
  return out
}

const DN_SPECIALS = new Set(['"', '+', ',', ';', '<', '>', '\\', '='])

/**
 * RFC 4514 §2.4 attribute value: escape `" + , ; < > \` (and `=`, allowed as a
 * `special`), a leading `#` or space, a trailing space, and NUL/control bytes
 * as `\XX`. Non-ASCII UTF-8 stays as is, which §2.4 allows.
 */
export function escapeDnValue(value: string): string {
  const chars = [...value]
  return chars
    .map((ch, i) => {
      const code = ch.codePointAt(0) ?? 0
      if (code < 0x20 || code === 0x7f) return `\\${code.toString(16).padStart(2, '0')}`
      if (DN_SPECIALS.has(ch)) return `\\${ch}`
      if (i === 0 && (ch === ' ' || ch === '#')) return `\\${ch}`
      if (i === chars.length - 1 && ch === ' ') return '\\ '
      return ch
    })
    .join('')
}
