// Remove chosen fields from a Haraka message header in place. The message
// stream holds the same header_list array, so splicing it changes what is
// delivered. Which fields go is decided on lib/mail/fields' reading; Haraka's
// lookup maps (header.get) hold Haraka's own reading, so the names whose fields
// were removed get the values Haraka's parser (the message's own Header class)
// reads from the fields that are left: no second field grammar here.
import type { Header } from 'haraka'

export function removeFields(header: Header, indexes: readonly number[]): number {
  if (!indexes.length) return 0
  for (const i of [...indexes].sort((a, b) => b - a)) header.header_list.splice(i, 1)
  const left = new (header.constructor as new () => Header)()
  left.parse(header.header_list)
  for (const [name, before] of Object.entries(header.headers)) {
    const values = left.headers[name]
    if (values?.length === before.length) continue // none of this name removed
    if (values) {
      header.headers[name] = values
      header.headers_decoded[name] = left.headers_decoded[name]!
    } else {
      delete header.headers[name]
      delete header.headers_decoded[name]
    }
  }
  return indexes.length
}
