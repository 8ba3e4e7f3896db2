// RFC 4514 distinguished names: parse a string DN into RDNs, and compare two
// DNs the way a directory compares them for the usual naming attributes
// (attribute types case-insensitively, values after unescaping, case-folded
// and with runs of white space collapsed, as caseIgnoreMatch does). Used to
// check DN templates at load and to compare memberOf values with a group DN.

export interface Ava {
  /** attribute type, lower-cased (a descriptor or a numeric OID) */
  type: string
  /** the value after unescaping (a `#hex` BER value stays as written, lower-cased) */
  value: string
}

export type Rdn = Ava[]

const TYPE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)$/i

/** Split on an unescaped separator; throws on a dangling backslash. By code point, never splitting a surrogate pair. */
function splitUnescaped(text: string, separators: string): string[] {
  const parts: string[] = []
  const chars = [...text]
  let current = ''
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!
    if (ch === '\\') {
      if (i + 1 >= chars.length) throw new Error('dangling backslash')
      current += ch + chars[i + 1]
      i++
    } else if (separators.includes(ch)) {
      parts.push(current)
      current = ''
    } else current += ch
  }
  parts.push(current)
  return parts
}

function unescapeValue(raw: string): string {
  const bytes: number[] = []
  // Unescaped leading/trailing spaces are not part of the value (RFC 4514 §3 is strict; be lenient).
  const trimmedStart = raw.length - raw.trimStart().length
  const text = raw.slice(trimmedStart)
  let end = text.length
  while (end > 0 && text[end - 1] === ' ' && !(end >= 2 && text[end - 2] === '\\')) end--
  // By code point: a character outside the BMP is one UTF-16 surrogate pair, never two halves.
  const chars = [...text.slice(0, end)]
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!
    if (ch !== '\\') {
      bytes.push(...Buffer.from(ch, 'utf8'))
      continue
    }
    const pair = (chars[i + 1] ?? '') + (chars[i + 2] ?? '')
    if (/^[0-9a-fA-F]{2}$/.test(pair)) {
      bytes.push(parseInt(pair, 16))
      i += 2
    } else {
      const next = chars[i + 1]
      if (next === undefined) throw new Error('dangling backslash')
      if (!' "#+,;<=>\\'.includes(next)) throw new Error(`bad escape \\${next}`)
      bytes.push(next.charCodeAt(0))
      i++
    }
  }
  const value = Buffer.from(bytes).toString('utf8')
  if (value.includes('\uFFFD')) throw new Error('escaped bytes are not UTF-8')
  return value
}

/** Parse an RFC 4514 DN string; throws with a reason on bad syntax. The empty DN has no RDNs. */
export function parseDn(dn: string): Rdn[] {
  if (dn.trim() === '') return []
  return splitUnescaped(dn, ',;').map((rdnText) => {
    if (!rdnText.trim()) throw new Error('empty RDN')
    return splitUnescaped(rdnText, '+').map((avaText) => {
      const eq = avaText.indexOf('=')
      if (eq <= 0) throw new Error(`${JSON.stringify(avaText.trim())} is not type=value`)
      const type = avaText.slice(0, eq).trim().toLowerCase()
      if (!TYPE.test(type)) throw new Error(`bad attribute type ${JSON.stringify(type)}`)
      const rawValue = avaText.slice(eq + 1)
      const value = rawValue.trim().startsWith('#') ? rawValue.trim().toLowerCase() : unescapeValue(rawValue)
      return { type, value }
    })
  })
}

/** A value as caseIgnoreMatch compares it: NFC, case-folded, runs of white space as one space, trimmed. */
export function foldValue(value: string): string {
  return value.normalize('NFC').toLowerCase().replace(/\s+/g, ' ').trim()
}

/** A canonical string for comparing DNs; undefined when `dn` does not parse. */
function normaliseDn(dn: string): string | undefined {
  try {
    return parseDn(dn)
      .map((rdn) =>
        rdn
          .map((ava) => `${ava.type}=${JSON.stringify(foldValue(ava.value))}`)
          .sort()
          .join('+'),
      )
      .join(',')
  } catch {
    return undefined
  }
}

/** True when both parse and name the same entry under case-ignore matching. */
export function dnEqual(a: string, b: string): boolean {
  const na = normaliseDn(a)
  return na !== undefined && na === normaliseDn(b)
}
