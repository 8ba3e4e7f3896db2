// The body hash of the signed stamp (bh=): SHA-256 of the message body in the
// "simple" canonical form of DKIM (RFC 6376 §3.4.3) after every line end is
// made CRLF. So a hop (or a tool that saved the .eml) that turns CRLF into LF
// or back, or adds or removes empty lines at the end, does not break it; any
// other change to the body does. In detail:
//   - a line ends at CRLF or at a bare LF; both become CRLF;
//   - a bare CR (not followed by LF) is an ordinary byte of its line;
//   - empty lines at the end of the body are ignored, a last line without a
//     line end gets CRLF, and an empty body is hashed as one CRLF.
// The body is the message after the first empty line, without SMTP
// dot-stuffing, as Haraka's message_stream gives it and a saved .eml holds it.
// Streaming: chunks may split a line, or a CRLF, anywhere.
import { createHash, type Hash } from 'node:crypto'

const CR = 0x0d
const LF = 0x0a
const CRLF = Buffer.from('\r\n')
const BARE_CR = Buffer.from([CR])

export class BodyHasher {
  readonly #hash: Hash = createHash('sha256')
  /** the last byte seen was a CR not yet known to be bare */
  #heldCr = false
  /** the current line has content already hashed */
  #lineOpen = false
  /** empty lines seen and not yet hashed: hashed only if content follows */
  #emptyLines = 0
  #wroteAnything = false
  #done = false

  update(chunk: Uint8Array): this {
    if (this.#done) throw new Error('BodyHasher: update after digest')
    let pos = 0
    while (pos < chunk.length) {
      const lf = chunk.indexOf(LF, pos)
      const end = lf === -1 ? chunk.length : lf
      if (end > pos) this.#content(chunk.subarray(pos, end))
      if (lf === -1) break
      this.#heldCr = false // it was the CR of a CRLF
      this.#endLine()
      pos = lf + 1
    }
    return this
  }

  /** base64url of the SHA-256 of the canonical body (43 characters). */
  digest(): string {
    if (this.#done) throw new Error('BodyHasher: digest twice')
    if (this.#heldCr) this.#write(BARE_CR)
    if (this.#lineOpen) this.#emit(CRLF)
    if (!this.#wroteAnything) this.#emit(CRLF)
    this.#done = true
    return this.#hash.digest('base64url')
  }

  /** Bytes of a line, without its LF; a CR at the end is held until we know whether an LF follows. */
  #content(bytes: Uint8Array): void {
    if (this.#heldCr) {
      this.#heldCr = false
      this.#write(BARE_CR)
    }
    if (bytes[bytes.length - 1] === CR) {
      this.#heldCr = true
      bytes = bytes.subarray(0, bytes.length - 1)
    }
    if (bytes.length) this.#write(bytes)
  }

  #write(bytes: Uint8Array): void {
    for (; this.#emptyLines > 0; this.#emptyLines--) this.#emit(CRLF)
    this.#emit(bytes)
    this.#lineOpen = true
    this.#wroteAnything = true
  }

  #emit(bytes: Uint8Array): void {
    this.#hash.update(bytes)
  }

  #endLine(): void {
    if (this.#lineOpen) {
      this.#emit(CRLF)
      this.#lineOpen = false
    } else {
      this.#emptyLines++
    }
  }
}

/** The body hash of a whole body at once. */
export function bodyHash(body: Uint8Array | string): string {
  return new BodyHasher().update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body).digest()
}

/**
 * The body of a raw message (.eml) as bytes: everything after the first empty
 * line (CRLF CRLF, or LF LF as a saved copy may have it); none without one.
 */
export function bodyOfRaw(raw: Buffer): Buffer {
  // no header at all: the message starts with the empty line
  if (raw[0] === LF) return raw.subarray(1)
  if (raw[0] === CR && raw[1] === LF) return raw.subarray(2)
  for (let i = raw.indexOf(LF); i !== -1; i = raw.indexOf(LF, i + 1)) {
    const next = raw[i + 1] === CR ? i + 2 : i + 1
    if (raw[next] === LF) return raw.subarray(next + 1)
  }
  return Buffer.alloc(0)
}
