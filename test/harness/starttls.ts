// One STARTTLS (or implicit TLS) session at the TLS level, for tests that look at the
// handshake itself: the server certificate the client got, a stapled OCSP response,
// whether the session was resumed, or the error when the server refused the handshake.
import net from 'node:net'
import tls from 'node:tls'

export interface HandshakeOptions {
  host: string
  port: number
  /** TLS from the first byte (smtps) instead of EHLO + STARTTLS */
  implicit?: boolean
  servername?: string
  /** a client certificate to present */
  key?: string
  cert?: string
  /** ask for a stapled OCSP response */
  requestOCSP?: boolean
  /** a session from an earlier handshake to try to resume */
  session?: Buffer
  timeoutMs?: number
}

export interface Handshake {
  /** the server's leaf certificate */
  peer: tls.PeerCertificate
  ocsp: Buffer | undefined
  reused: boolean
  /** the session the server offered (ticket or id), for a later resumption attempt */
  session: Buffer | undefined
  /** the reply to EHLO after the handshake (the server really went on), e.g. 250 */
  ehloCode: number
}

/** Read SMTP replies off a socket: each call resolves with the code of the next complete reply. */
export function replies(socket: net.Socket): () => Promise<number> {
  let buf = ''
  const waiting: Array<(line: string) => void> = []
  const ready: string[] = []
  socket.on('data', (chunk: Buffer) => {
    buf += chunk.toString('latin1')
    for (;;) {
      const m = /^\d{3} [^\n]*\n/m.exec(buf)
      if (!m) return
      buf = buf.slice(m.index + m[0].length)
      const w = waiting.shift()
      if (w) w(m[0])
      else ready.push(m[0])
    }
  })
  return (): Promise<number> =>
    new Promise((resolve) => {
      const take = (line: string) => resolve(Number(line.slice(0, 3)))
      const line = ready.shift()
      if (line !== undefined) take(line)
      else waiting.push(take)
    })
}

/** Run one session; rejects with the TLS error when the handshake fails. */
export async function handshake(opts: HandshakeOptions): Promise<Handshake> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const plain = opts.implicit ? undefined : net.connect({ host: opts.host, port: opts.port })
  const timer = setTimeout(() => {
    plain?.destroy(new Error('timeout'))
    secure?.destroy(new Error('timeout'))
  }, timeoutMs)
  let secure: tls.TLSSocket | undefined
  try {
    if (plain) {
      const next = replies(plain)
      await new Promise<void>((resolve, reject) => plain.once('connect', resolve).once('error', reject))
      if ((await next()) !== 220) throw new Error('no banner')
      plain.write('EHLO client.example\r\n')
      if ((await next()) !== 250) throw new Error('EHLO refused')
      plain.write('STARTTLS\r\n')
      const code = await next()
      if (code !== 220) throw new Error(`STARTTLS answered ${code}`)
      plain.removeAllListeners('data')
    }
    let ocsp: Buffer | undefined
    let session: Buffer | undefined
    const s = tls.connect({
      ...(plain ? { socket: plain } : { host: opts.host, port: opts.port }),
      ...(opts.servername ? { servername: opts.servername } : {}),
      ...(opts.key && opts.cert ? { key: opts.key, cert: opts.cert } : {}),
      ...(opts.session ? { session: opts.session } : {}),
      requestOCSP: opts.requestOCSP ?? false,
      rejectUnauthorized: false,
    })
    secure = s
    s.on('OCSPResponse', (response: Buffer) => (ocsp = response))
    s.on('session', (sess: Buffer) => (session = sess))
    const next = replies(s)
    await new Promise<void>((resolve, reject) => s.once('secureConnect', resolve).once('error', reject))
    const closed = new Promise<void>((resolve) => s.once('close', () => resolve()))
    const failed = new Promise<never>((_, reject) => s.once('error', reject))
    if (opts.implicit) await Promise.race([next(), failed]) // the banner
    s.write('EHLO client.example\r\n')
    // TLS 1.3: a refused client certificate shows as an alert after secureConnect.
    const ehloCode = await Promise.race([next(), failed])
    s.write('QUIT\r\n')
    await Promise.race([next(), failed])
    const result = { peer: s.getPeerCertificate(), ocsp, reused: s.isSessionReused(), ehloCode }
    s.end()
    await closed
    return { ...result, session }
  } finally {
    clearTimeout(timer)
    secure?.destroy()
    plain?.destroy()
  }
}
