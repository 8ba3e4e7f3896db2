// Escaping of untrusted values before they enter an LDAP filter or DN.
// Every client-supplied string passes through one of these; nothing else may
// splice a login into LDAP syntax.

/**
 * RFC 4515 §3 assertion value: `*`, `(`, `)`, `\` and NUL must be escaped as
 * `\XX`. We also escape every byte outside printable ASCII (as UTF-8 octets),
 * which RFC 4515 permits and which keeps the filter string plain ASCII.
 */
export function escapeFilterValue(value: string): string {
  let out = ''
  for (const byte of Buffer.from(value, 'utf8')) {
    const printable = byte >= 0x20 && byte <= 0x7e
    const special = byte === 0x2a || byte === 0x28 || byte === 0x29 || byte === 0x5c
    out += printable && !special ? String.fromCharCode(byte) : `\\${byte.toString(16).padStart(2, '0')}`
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
