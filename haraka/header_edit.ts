// Remove chosen fields from a Haraka message header in place. The message
// stream holds the same header_list array, so splicing it changes what is
// delivered; the parsed lookup maps are rebuilt for the names we touched.
import type { Header } from 'haraka'

const STANDARD_FIELD = /^([^\s:]*):\s*([\s\S]*)$/

export function removeFields(header: Header, indexes: readonly number[]): number {
  const touched = new Set<string>()
  for (const i of [...indexes].sort((a, b) => b - a)) {
    const [field] = header.header_list.splice(i, 1)
    const m = field === undefined ? null : STANDARD_FIELD.exec(field)
    if (m) touched.add(m[1]!.toLowerCase())
  }
  for (const name of touched) {
    const values = header.header_list
      .map((f) => STANDARD_FIELD.exec(f))
      .filter((m): m is RegExpExecArray => m !== null && m[1]!.toLowerCase() === name)
      .map((m) => m[2]!)
    if (values.length) {
      header.headers[name] = values
      header.headers_decoded[name] = values.map((v) => header.decode_header(v))
    } else {
      delete header.headers[name]
      delete header.headers_decoded[name]
    }
  }
  return indexes.length
}
