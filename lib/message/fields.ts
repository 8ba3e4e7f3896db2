// Header fields as Haraka keeps them (header_list): one string per field, folded
// lines included ("Name: value\n\tmore\n"). Names are matched the lenient way a
// mail reader would: case-insensitive, and with the obsolete white space before
// the colon (RFC 5322 §4.5.3, "X-Authenticated-User : bob") still counting.
// Shared by auth_relay (From/Sender alignment) and auth_stamp (forged stamps).

export function fieldName(field: string): string {
  const colon = field.indexOf(':')
  return colon < 0 ? '' : field.slice(0, colon).trim().toLowerCase()
}

export function fieldValue(field: string): string {
  const colon = field.indexOf(':')
  return colon < 0 ? '' : field.slice(colon + 1).replace(/\r?\n[ \t]*/g, ' ').trim()
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
