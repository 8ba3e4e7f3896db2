// A small, strict SMTP client for the tests and `npm run try`: one reply per command,
// multi-line aware, per-reply timeout, STARTTLS and implicit TLS, and a transcript
// that never shows credentials.
import net from 'node:net'
import tls from 'node:tls'

export interface Reply {
  code: number
  /** Enhanced status code from the first line, e.g. '5.7.8'. */
  enhanced?: string
  /** Raw reply lines as received, codes included. */
  lines: string[]
  /** Text of every line without the reply code and enhanced code, joined with '\n'. */
  text: string
}

export interface ConnectOptions {
  host?: string
  port: number
  /** TLS from the first byte (SMTPS, RFC 8314) instead of STARTTLS. */
  implicitTls?: boolean
  ca?: string | Buffer
  /** Verify the server certificate; default true. */
  rejectUnauthorized?: boolean
  /** Name to verify the certificate against (and SNI); default host. */
  servername?: string
  /** Longest wait for one reply, the TCP connect or the TLS handshake; default 10000. */
  timeoutMs?: number
  /** Source address of the connection, e.g. another loopback address 127.x.y.z (tests of per-address limits). */
  localAddress?: string
}

export type SmtpErrorCode = 'ECLOSED' | 'ETIMEDOUT' | 'EPROTO'

/** ECLOSED: the server closed the connection; ETIMEDOUT: no reply in time; EPROTO: garbled reply. */
export class SmtpClientError extends Error {
  constructor(
    readonly code: SmtpErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'SmtpClientError'
  }
}

export function isClosedError(err: unknown): boolean {
  return err instanceof SmtpClientError && err.code === 'ECLOSED'
}

interface Waiter {
  resolve(reply: Reply): void
  reject(err: Error): void
  timer: NodeJS.Timeout
}

const REPLY_LINE = /^(\d{3})([ -])(.*)$/
const ENHANCED = /^([245]\.\d{1,3}\.\d{1,3})(?:\s+|$)/
const REDACTED = '<redacted>'

export function parseReply(lines: string[]): Reply {
  const texts = lines.map((line) => line.slice(4).replace(ENHANCED, ''))
  const enhanced = ENHANCED.exec(lines[0]?.slice(4) ?? '')?.[1]
  const reply: Reply = { code: Number(lines[0]?.slice(0, 3)), lines, text: texts.join('\n') }
  if (enhanced) reply.enhanced = enhanced
  return reply
}

export class SmtpClient {
  readonly transcript: string[] = []
  greeting!: Reply
  private socket: net.Socket
  private tlsActive: boolean
  private buffer = ''
  private partial: string[] = []
  private replies: Reply[] = []
  private waiters: Waiter[] = []
  private isClosed = false
  private closeReason = ''
  private protocolError: SmtpClientError | undefined
  // The line after a 334 challenge carries credentials.
  private redactNext = false

  private constructor(
    socket: net.Socket,
    private readonly opts: ConnectOptions,
  ) {
    this.socket = socket
    this.tlsActive = socket instanceof tls.TLSSocket
    this.attach(socket)
  }

  static async connect(opts: ConnectOptions): Promise<SmtpClient> {
    const host = opts.host ?? '127.0.0.1'
    const timeoutMs = opts.timeoutMs ?? 10_000
    const local = opts.localAddress ? { localAddress: opts.localAddress } : {}
    const socket = opts.implicitTls
      ? tls.connect({ port: opts.port, ...local, ...tlsOptions(opts, host) })
      : net.connect({ host, port: opts.port, ...local })
    await settle(
      socket,
      opts.implicitTls ? 'secureConnect' : 'connect',
      timeoutMs,
      `connect to ${host}:${opts.port}`,
    )
    const client = new SmtpClient(socket, { ...opts, host, timeoutMs })
    client.greeting = await client.reply()
    return client
  }

  get isTls(): boolean {
    return this.tlsActive
  }

  get closed(): boolean {
    return this.isClosed
  }

  /** Write one command line (CRLF added) and resolve with the next full reply. */
  send(line: string): Promise<Reply> {
    if (this.isClosed || this.socket.destroyed) return Promise.reject(this.closedError())
    this.record(line)
    this.socket.write(`${line}\r\n`)
    return this.reply()
  }

  /** The next reply from the server, without sending anything. */
  reply(): Promise<Reply> {
    const queued = this.replies.shift()
    if (queued) return Promise.resolve(this.track(queued))
    if (this.protocolError) return Promise.reject(this.protocolError)
    if (this.isClosed) return Promise.reject(this.closedError())
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (reply) => resolve(this.track(reply)),
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter)
          reject(new SmtpClientError('ETIMEDOUT', `no SMTP reply within ${this.opts.timeoutMs} ms`))
        }, this.opts.timeoutMs),
      }
      this.waiters.push(waiter)
    })
  }

  /** Write bytes as they are (pipelining, malformed input); no reply is awaited. */
  writeRaw(data: string | Buffer): void {
    if (this.isClosed || this.socket.destroyed) throw this.closedError()
    const text = typeof data === 'string' ? data : data.toString('latin1')
    for (const line of text.replace(/\r?\n$/, '').split(/\r?\n/)) this.record(line)
    this.socket.write(data)
  }

  async ehlo(name = 'localhost'): Promise<Reply & { capabilities: string[] }> {
    const reply = await this.send(`EHLO ${name}`)
    const capabilities = reply.code === 250 ? reply.lines.slice(1).map((line) => line.slice(4)) : []
    return { ...reply, capabilities }
  }

  /** STARTTLS; on 220 the socket is upgraded with the connect options' CA and servername. */
  async starttls(): Promise<Reply> {
    const reply = await this.send('STARTTLS')
    if (reply.code !== 220) return reply
    if (this.buffer || this.replies.length) {
      // Bytes sent before the handshake would be trusted after it (STARTTLS injection).
      throw this.fail(new SmtpClientError('EPROTO', 'server sent data after 220 to STARTTLS'))
    }
    const plain = this.socket
    this.detach(plain)
    plain.on('error', () => undefined) // errors surface on the TLS socket
    const host = this.opts.host ?? '127.0.0.1'
    const secure = tls.connect({ socket: plain, ...tlsOptions(this.opts, host) })
    this.socket = secure
    this.attach(secure)
    await settle(secure, 'secureConnect', this.opts.timeoutMs ?? 10_000, 'TLS handshake').catch(
      (err: Error) => {
        throw this.fail(err)
      },
    )
    this.tlsActive = true
    this.transcript.push('-- TLS established')
    return reply
  }

  /** AUTH PLAIN, by default with the initial response on the AUTH line (RFC 4954). */
  async authPlain(
    user: string,
    pass: string,
    opts: { initialResponse?: boolean; authzid?: string } = {},
  ): Promise<Reply> {
    const token = Buffer.from(`${opts.authzid ?? ''}\0${user}\0${pass}`).toString('base64')
    if (opts.initialResponse ?? true) return this.send(`AUTH PLAIN ${token}`)
    const challenge = await this.send('AUTH PLAIN')
    if (challenge.code !== 334) return challenge
    return this.send(token)
  }

  /** AUTH LOGIN; returns the first reply that is not a 334 prompt. */
  async authLogin(user: string, pass: string): Promise<Reply> {
    const first = await this.send('AUTH LOGIN')
    if (first.code !== 334) return first
    const second = await this.send(Buffer.from(user).toString('base64'))
    if (second.code !== 334) return second
    return this.send(Buffer.from(pass).toString('base64'))
  }

  mailFrom(addr: string, params?: string): Promise<Reply> {
    return this.send(`MAIL FROM:<${addr}>${params ? ` ${params}` : ''}`)
  }

  rcptTo(addr: string): Promise<Reply> {
    return this.send(`RCPT TO:<${addr}>`)
  }

  /** DATA, then the message with CRLF line endings and dot-stuffing; returns the final reply. */
  async data(message: string): Promise<Reply> {
    const go = await this.send('DATA')
    if (go.code !== 354) return go
    const lines = message
      .replace(/\r\n|\r|\n/g, '\n')
      .replace(/\n$/, '')
      .split('\n')
    const body = lines.map((line) => (line.startsWith('.') ? `.${line}` : line))
    for (const line of body) this.transcript.push(`C: ${line}`)
    this.transcript.push('C: .')
    this.socket.write(`${body.join('\r\n')}\r\n.\r\n`)
    return this.reply()
  }

  /**
   * DATA, then `content` byte for byte (no line-ending conversion, no dot-stuffing: malformed
   * input such as a bare CR), then `.` CRLF; returns the final reply. `content` should end in CRLF.
   */
  async dataRaw(content: string | Buffer): Promise<Reply> {
    const go = await this.send('DATA')
    if (go.code !== 354) return go
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content
    const shown = JSON.stringify(bytes.toString('latin1').slice(0, 200))
    this.transcript.push(`C: <${bytes.length} bytes as written> ${shown}`)
    this.transcript.push('C: .')
    this.socket.write(Buffer.concat([bytes, Buffer.from('.\r\n')]))
    return this.reply()
  }

  /** QUIT, then close the socket whatever the server said. */
  async quit(): Promise<Reply> {
    try {
      return await this.send('QUIT')
    } finally {
      await this.close()
    }
  }

  /** Close the connection now; resolves once the socket is closed. */
  close(): Promise<void> {
    if (this.isClosed || this.socket.destroyed) {
      this.onClose()
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve())
      this.socket.destroy()
    })
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffer += chunk.toString('latin1')
    let end: number
    while ((end = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, end).replace(/\r$/, '')
      this.buffer = this.buffer.slice(end + 1)
      this.onLine(line)
    }
  }

  private onLine(line: string): void {
    this.transcript.push(`S: ${line}`)
    const match = REPLY_LINE.exec(line) ?? /^(\d{3})()$/.exec(line)
    if (!match || (this.partial.length && !line.startsWith(this.partial[0]!.slice(0, 3)))) {
      this.fail(new SmtpClientError('EPROTO', `malformed SMTP reply line: ${JSON.stringify(line)}`))
      return
    }
    this.partial.push(line)
    if (match[2] === '-') return
    const reply = parseReply(this.partial)
    this.partial = []
    const waiter = this.waiters.shift()
    if (!waiter) {
      this.replies.push(reply)
      return
    }
    clearTimeout(waiter.timer)
    waiter.resolve(reply)
  }

  private readonly onError = (err: Error): void => {
    this.closeReason = err.message
  }

  private readonly onClose = (): void => {
    if (this.isClosed) return
    this.isClosed = true
    this.transcript.push(`-- connection closed${this.closeReason ? ` (${this.closeReason})` : ''}`)
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer)
      waiter.reject(this.closedError())
    }
  }

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData)
    socket.on('error', this.onError)
    socket.on('close', this.onClose)
  }

  private detach(socket: net.Socket): void {
    socket.off('data', this.onData)
    socket.off('error', this.onError)
    socket.off('close', this.onClose)
  }

  private closedError(): SmtpClientError {
    const why = this.closeReason ? `: ${this.closeReason}` : ''
    return new SmtpClientError('ECLOSED', `SMTP connection closed by the server${why}`)
  }

  /** Reject every pending read with err and drop the connection. */
  private fail(err: Error): Error {
    if (err instanceof SmtpClientError && err.code === 'EPROTO') this.protocolError = err
    this.closeReason ||= err.message
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer)
      waiter.reject(err)
    }
    this.socket.destroy()
    return err
  }

  private track(reply: Reply): Reply {
    this.redactNext = reply.code === 334
    return reply
  }

  private record(line: string): void {
    if (this.redactNext) {
      this.redactNext = false
      this.transcript.push(`C: ${REDACTED}`)
      return
    }
    const auth = /^(AUTH\s+\S+)\s+\S/i.exec(line)
    this.transcript.push(`C: ${auth ? `${auth[1]} ${REDACTED}` : line}`)
  }
}

function tlsOptions(opts: ConnectOptions, host: string): tls.ConnectionOptions {
  const servername = opts.servername ?? (net.isIP(host) ? undefined : host)
  // host drives the certificate name check (also when upgrading an existing socket);
  // servername, when set, takes its place and is sent as SNI, which cannot carry an IP.
  return {
    host,
    ca: opts.ca,
    rejectUnauthorized: opts.rejectUnauthorized ?? true,
    ...(servername ? { servername } : {}),
  }
}

/** Resolve on `event`, reject on error, early close or timeout. */
function settle(socket: net.Socket, event: string, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer)
      socket.off(event, onEvent)
      socket.off('error', onError)
      socket.off('close', onEarlyClose)
      if (!err) return resolve()
      socket.destroy()
      reject(err)
    }
    const onEvent = () => done()
    const onError = (err: Error) => done(err)
    const onEarlyClose = () => done(new SmtpClientError('ECLOSED', `connection closed during ${what}`))
    const timer = setTimeout(
      () => done(new SmtpClientError('ETIMEDOUT', `${what} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    )
    socket.once(event, onEvent)
    socket.once('error', onError)
    socket.once('close', onEarlyClose)
  })
}
