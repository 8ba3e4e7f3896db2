// Bare CR in message data: a CR that no LF follows. RFC 5321 §2.3.8 and RFC 5322 §2.3 allow CR and
// LF only together, as CRLF. Haraka splits DATA into lines at LF and refuses a bare LF, but leaves a
// bare CR inside its line, and the message is delivered with it. A server further on that ends
// lines at CR would read another message structure ("\r.\r" ends DATA there: SMTP smuggling,
// CVE-2023-51764/51765/51766). Pure: one scan of each data line as Haraka hands it to
// transaction.add_data, in wire form (dot-stuffed, ending in CRLF).

export const BARE_CR_MODES = ['refuse', 'remove', 'allow'] as const
export type BareCrMode = (typeof BARE_CR_MODES)[number]

const CR = 0x0d
const LF = 0x0a
const DOT = 0x2e

/** The number of bare CRs (CRs not directly followed by LF) in one line. */
export function countBareCr(line: Uint8Array): number {
  let n = 0
  for (let i = line.indexOf(CR); i !== -1; i = line.indexOf(CR, i + 1)) if (line[i + 1] !== LF) n++
  return n
}

/**
 * The line without its bare CRs, in wire form: the client's dot-stuffing is undone first and done
 * again after, so a line that begins with "." once a leading CR is gone ("\r.\r\n") is stored as
 * "..\r\n", never as the end-of-data line a next hop would stop at.
 */
export function removeBareCr(line: Uint8Array): Buffer {
  const content = line[0] === DOT ? line.subarray(1) : line
  // out[0] is kept free for the stuffing dot
  const out = Buffer.allocUnsafe(content.length + 1)
  let n = 1
  for (let i = 0; i < content.length; i++) {
    const b = content[i]!
    if (b === CR && content[i + 1] !== LF) continue
    out[n++] = b
  }
  if (n > 1 && out[1] === DOT) {
    out[0] = DOT
    return out.subarray(0, n)
  }
  return out.subarray(1, n)
}

/** What one message's data held, counted as its lines arrive. */
export class BareCrScan {
  /** data lines seen (the client's; Haraka's Received line comes before the scan starts) */
  lines = 0
  /** bare CRs seen */
  bareCrs = 0
  /** lines with at least one bare CR */
  linesWithBareCr = 0
  /** 1-based number of the first line with a bare CR; 0 = none */
  firstLine = 0
  /** where that line is */
  firstIn: 'header' | 'body' = 'header'
  private inBody = false

  constructor(readonly mode: BareCrMode) {}

  /** One data line in wire form; returns the line to store (bare_cr=remove: without its bare CRs). */
  next(line: Buffer): Buffer {
    this.lines++
    const n = countBareCr(line)
    let stored = line
    if (n) {
      this.bareCrs += n
      this.linesWithBareCr++
      if (!this.firstLine) {
        this.firstLine = this.lines
        this.firstIn = this.inBody ? 'body' : 'header'
      }
      if (this.mode === 'remove') stored = removeBareCr(line)
    }
    // The blank line that ends the header section, as Haraka's add_data recognises it.
    if (!this.inBody && (stored[0] === LF || (stored[0] === CR && stored[1] === LF))) this.inBody = true
    return stored
  }
}
