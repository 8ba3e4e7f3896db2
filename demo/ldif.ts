// A small LDIF reader (RFC 2849 content records only): enough for demo/directory.ldif,
// which slapadd also loads, so anything slapd would reject is an error here too.

export interface LdifEntry {
  dn: string
  /** Attribute names keep the case written in the file; look them up with attributeValues. */
  attributes: Record<string, string[]>
}

interface LogicalLine {
  text: string
  lineNo: number
}

/** Parse LDIF text into entries, in file order. Throws with a line number on bad input. */
export function parseLdif(text: string): LdifEntry[] {
  const entries: LdifEntry[] = []
  let current: LdifEntry | undefined
  for (const line of logicalLines(text)) {
    if (line.text.trim() === '') {
      current = undefined
      continue
    }
    const { name, value } = splitLine(line)
    if (current === undefined) {
      if (name.toLowerCase() === 'version' && entries.length === 0) continue
      if (name.toLowerCase() !== 'dn') throw ldifError(line, 'an entry must start with dn:')
      current = { dn: value, attributes: {} }
      entries.push(current)
      continue
    }
    if (name.toLowerCase() === 'changetype') throw ldifError(line, 'change records are not supported')
    addValue(current.attributes, name, value)
  }
  return entries
}

/** Values of one attribute, looked up case-insensitively ([] when absent). */
export function attributeValues(entry: LdifEntry, name: string): string[] {
  const wanted = name.toLowerCase()
  const key = Object.keys(entry.attributes).find((k) => k.toLowerCase() === wanted)
  return key === undefined ? [] : (entry.attributes[key] ?? [])
}

// Unfold continuation lines (leading single space) and drop comments; blank lines stay
// because they separate entries.
function* logicalLines(text: string): Generator<LogicalLine> {
  let pending: LogicalLine | undefined
  const physical = text.split(/\r?\n/)
  for (let i = 0; i < physical.length; i++) {
    const raw = physical[i] ?? ''
    if (raw.startsWith(' ') && pending !== undefined && pending.text !== '') {
      pending.text += raw.slice(1)
      continue
    }
    if (pending !== undefined && !pending.text.startsWith('#')) yield pending
    pending = { text: raw, lineNo: i + 1 }
  }
  if (pending !== undefined && !pending.text.startsWith('#')) yield pending
}

function splitLine(line: LogicalLine): { name: string; value: string } {
  const colon = line.text.indexOf(':')
  if (colon <= 0) throw ldifError(line, 'expected "attribute: value"')
  const name = line.text.slice(0, colon)
  if (!/^[A-Za-z][A-Za-z0-9-]*(;[A-Za-z0-9-]+)*$/.test(name))
    throw ldifError(line, `bad attribute name "${name}"`)
  const rest = line.text.slice(colon + 1)
  if (rest.startsWith(':')) return { name, value: decodeBase64(rest.slice(1).trim(), line) }
  if (rest.startsWith('<')) throw ldifError(line, 'URL values are not supported')
  return { name, value: rest.replace(/^ +/, '') }
}

function decodeBase64(text: string, line: LogicalLine): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw ldifError(line, 'bad base64 value')
  return Buffer.from(text, 'base64').toString('utf8')
}

// Same attribute written with different case joins the first spelling seen.
function addValue(attributes: Record<string, string[]>, name: string, value: string): void {
  const lower = name.toLowerCase()
  const key = Object.keys(attributes).find((k) => k.toLowerCase() === lower) ?? name
  const values = Object.hasOwn(attributes, key) ? (attributes[key] ?? []) : []
  values.push(value)
  attributes[key] = values
}

function ldifError(line: LogicalLine, message: string): Error {
  return new Error(`LDIF line ${line.lineNo}: ${message}`)
}
