// Splits an LDAP byte stream into whole messages and refuses malformed BER before ldapjs
// sees it. ldapjs's parser loops forever (until V8 aborts the process) on some bad
// lengths and throws asserts on others, so the demo directory only feeds it checked input.

const MAX_MESSAGE_BYTES = 1024 * 1024
const MAX_DEPTH = 64
const SEQUENCE = 0x30
const CONSTRUCTED = 0x20

export class MalformedBerError extends Error {}

interface Header {
  tag: number
  contentStart: number
  end: number
}

export class BerFramer {
  private pending: Buffer = Buffer.alloc(0)

  /** The complete messages `chunk` finishes; throws MalformedBerError on anything else. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    const messages: Buffer[] = []
    for (;;) {
      const header = readHeader(this.pending, 0)
      if (header === undefined) break
      if (header.tag !== SEQUENCE) throw new MalformedBerError('an LDAP message is a SEQUENCE')
      if (header.end > MAX_MESSAGE_BYTES) throw new MalformedBerError('message too large')
      if (header.end > this.pending.length) break
      const message = this.pending.subarray(0, header.end)
      checkContents(message, header, 0)
      messages.push(message)
      this.pending = this.pending.subarray(header.end)
    }
    return messages
  }
}

// LDAP uses definite lengths and single-byte tags only (RFC 4511 5.1).
// undefined: not enough bytes yet to read the header.
function readHeader(buf: Buffer, offset: number): Header | undefined {
  const tag = buf[offset]
  const first = buf[offset + 1]
  if (tag === undefined || first === undefined) return undefined
  if ((tag & 0x1f) === 0x1f) throw new MalformedBerError('multi-byte tag')
  if (first < 0x80) return { tag, contentStart: offset + 2, end: offset + 2 + first }
  const lengthBytes = first & 0x7f
  if (lengthBytes === 0 || lengthBytes > 4) throw new MalformedBerError('unsupported length form')
  const contentStart = offset + 2 + lengthBytes
  if (contentStart > buf.length) return undefined
  return { tag, contentStart, end: contentStart + buf.readUIntBE(offset + 2, lengthBytes) }
}

// Every constructed element must be exactly filled by well-formed children.
function checkContents(buf: Buffer, header: Header, depth: number): void {
  if ((header.tag & CONSTRUCTED) === 0) return
  if (depth > MAX_DEPTH) throw new MalformedBerError('nested too deeply')
  for (let offset = header.contentStart; offset < header.end;) {
    const child = readHeader(buf, offset)
    if (child === undefined || child.end > header.end)
      throw new MalformedBerError('element overruns its parent')
    checkContents(buf, child, depth + 1)
    offset = child.end
  }
}
