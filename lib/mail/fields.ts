// Header fields as Haraka keeps them (header_list): one string per field, folded
// lines included ("Name: value\n\tmore\n"). A field name is RFC 5322 ftext
// (§3.6.8: printable US-ASCII except the colon, %d33-57 / %d59-126), optionally
// followed by white space before the colon (the obsolete form of §4.5.3,
// "X-Authenticated-User : bob", still counts). Anything else in the name (C0
// controls anywhere, DEL, 8-bit or Unicode letters such as U+017F, space inside,
// no colon at all) is malformed: such a field has no name here, because other
// readers disagree about it (Java's and PHP's trim() drop C0 controls that
// JavaScript's keeps; Java's equalsIgnoreCase folds U+017F to "s"). Names are
// matched case-insensitively, which is unambiguous for ASCII.
// Shared by auth_relay (From/Sender alignment) and auth_stamp (forged stamps).

const WELL_FORMED_NAME = /^[\x21-\x39\x3b-\x7e]+[ \t]*$/

/** The lower-case name of a well-formed field; '' when the name is malformed or missing (isMalformedField). */
export function fieldName(field: string): string {
  const colon = field.indexOf(':')
  if (colon < 0) return ''
  const name = field.slice(0, colon)
  return WELL_FORMED_NAME.test(name) ? name.replace(/[ \t]+$/, '').toLowerCase() : ''
}

/** A field without a colon, or whose name is not ftext (plus white space before the colon). */
export function isMalformedField(field: string): boolean {
  const colon = field.indexOf(':')
  return colon < 0 || !WELL_FORMED_NAME.test(field.slice(0, colon))
}

/**
 * The name of a (malformed) field for a log line: the text before the colon (the first line when
 * there is none), at most 60 characters (log-safe: only printable ASCII), every other character written as
 * `<U+XXXX>` (so `From<U+0000>`, `<U+0001>Authentication-Results`, `<U+017F>ender`).
 */
export function fieldNameForLog(field: string): string {
  const colon = field.indexOf(':')
  const name = colon < 0 ? field.replace(/\r?\n[\s\S]*$/, '') : field.slice(0, colon)
  const hex = (c: string) => c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')
  const shown = [...name.slice(0, 60)].map((c) => (c >= ' ' && c <= '~' ? c : `<U+${hex(c)}>`)).join('')
  return name.length > 60 ? `${shown}...` : shown
}

/** The value as written: everything after the colon, folds and the final line break included. */
export function rawFieldValue(field: string): string {
  const colon = field.indexOf(':')
  return colon < 0 ? '' : field.slice(colon + 1)
}

/** A value with its folds undone (each line break and the white space after it become one space), trimmed. */
export function unfold(value: string): string {
  return value.replace(/\r?\n[ \t]*/g, ' ').trim()
}

export function fieldValue(field: string): string {
  return unfold(rawFieldValue(field))
}

/** Unfolded, runs of white space collapsed to one space, trimmed: survives a hop that refolds. */
export function canonicalFieldValue(field: string): string {
  return fieldValue(field).replace(/[ \t]+/g, ' ')
}

/** The header section of a raw message (.eml) as Haraka-style field strings. */
export function headerFieldsOf(raw: string): string[] {
  const end = /\r?\n\r?\n/.exec(raw)
  const head = end ? raw.slice(0, end.index) : raw
  const fields: string[] = []
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length) fields[fields.length - 1] += `${line}\n`
    else if (line) fields.push(`${line}\n`)
  }
  // keep the folds as Haraka does: the line break before a continuation stays in the field
  return fields.map((f) => f.replace(/\n(?=[ \t])/g, '\r\n'))
}
