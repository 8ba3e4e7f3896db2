// Helpers for the auth_stamp end-to-end tests: exact header expectations and
// the per-message results line auth_stamp logs.

/** Escape text for use inside a RegExp. */
export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * A RegExp source for Haraka's Received line for the test client
 * (client.example.net over loopback): exact except remote info, id, cipher and date.
 */
export function receivedPattern(opts: {
  by?: string
  with: string
  from: string
  tlsComment?: string
}): string {
  const by = escapeRe(opts.by ?? 'mail.example.com')
  const tls = opts.tlsComment === undefined ? '' : `\\r\\n\\ttls [A-Z0-9_]+ ${escapeRe(opts.tlsComment)}`
  return (
    `Received: from client\\.example\\.net \\([^)\\r\\n]*\\)\\r\\n` +
    `\\tby ${by} \\(Haraka/[0-9.]+\\) with ${opts.with} id [0-9A-F-]+\\.\\d+\\r\\n` +
    `\\tenvelope-from ${escapeRe(opts.from === '' ? '<>' : `<${opts.from}>`)}${tls};\\r\\n` +
    `\\t[^\\r\\n]+ \\+0000\\r\\n`
  )
}

/** What auth_stamp recorded (and logged through results' emit) for one transaction. */
export function stampResults(logs: string, uuid: string): string {
  const marker = `[${uuid}] [auth_stamp] `
  // The results line (haraka-results' emit) is the one made of results keys; other lines are decisions.
  const line = logs
    .split('\n')
    .find(
      (l) =>
        l.includes(marker) &&
        /^(removed: |pass:|fail:|skip:|err:)/.test(l.slice(l.indexOf(marker) + marker.length)),
    )
  if (!line) throw new Error(`no auth_stamp results line for ${uuid}`)
  return line.slice(line.indexOf(marker) + marker.length)
}
