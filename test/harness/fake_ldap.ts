// Misbehaving LDAP servers for fault tests, on 127.0.0.1 and a free port: what
// slapd cannot be made to do on demand.
import net from 'node:net'
import tls from 'node:tls'
import ldapjs from 'ldapjs'

export interface FakeServer {
  url: string
  /** TCP connections accepted so far */
  connections: number
  close(): Promise<void>
}

const STARTTLS_OID = Buffer.from('1.3.6.1.4.1.1466.20037')

/** BER: a tag, a short-form length (every message here is below 128 bytes) and the content. */
function tlv(tag: number, content: Buffer): Buffer {
  if (content.length > 127) throw new Error('fake server messages are short')
  return Buffer.concat([Buffer.from([tag, content.length]), content])
}

/**
 * Answers the first request on each connection (the StartTLS extended request)
 * with an ExtendedResponse "success", then says nothing more: the TLS
 * ClientHello that follows is never answered.
 */
export function startTlsStallServer(): Promise<FakeServer> {
  const sockets = new Set<net.Socket>()
  const fake: FakeServer = { url: '', connections: 0, close: async () => undefined }
  const server = net.createServer((socket) => {
    fake.connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    socket.once('data', (buf) => socket.write(startTlsSuccess(buf)))
  })
  return listen(server, sockets, fake, 'ldap')
}

/** The StartTLS ExtendedResponse "success" to `request` (the first LDAPMessage on a connection). */
function startTlsSuccess(request: Buffer): Buffer {
  // LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp ... }: 30 len 02 idlen id ...
  const id = request.subarray(4, 4 + request[3]!)
  // ExtendedResponse [APPLICATION 24]: resultCode success, matchedDN "", diagnosticMessage "", responseName [10]
  const op = tlv(0x78, Buffer.concat([Buffer.from([0x0a, 1, 0, 0x04, 0, 0x04, 0]), tlv(0x8a, STARTTLS_OID)]))
  return tlv(0x30, Buffer.concat([tlv(0x02, id), op]))
}

export interface SniRecorder extends FakeServer {
  /** The SNI name of the first completed TLS handshake; false (or null) when the client sent none. */
  servername: Promise<string | false | null>
}

/**
 * Completes a TLS handshake with `pair` and reports the client's SNI, then
 * answers nothing more. `ldap`: StartTLS first (the first request gets
 * "success"), on an ldap:// URL; `ldaps`: TLS from the start.
 */
export function sniRecordingServer(
  pair: { key: string; cert: string },
  scheme: 'ldap' | 'ldaps',
): Promise<SniRecorder> {
  const sockets = new Set<net.Socket>()
  let handshake!: (servername: string | false | null) => void
  const servername = new Promise<string | false | null>((resolve) => (handshake = resolve))
  const fake: SniRecorder = { url: '', connections: 0, servername, close: async () => undefined }
  const secureContext = tls.createSecureContext({ key: pair.key, cert: pair.cert })
  const upgrade = (socket: net.Socket) => {
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext })
    secure.on('error', () => undefined)
    secure.once('secure', () => handshake(secure.servername))
  }
  const server = net.createServer((socket) => {
    fake.connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    if (scheme === 'ldaps') upgrade(socket)
    else
      socket.once('data', (buf) => {
        socket.write(startTlsSuccess(buf))
        upgrade(socket)
      })
  })
  return listen(server, sockets, fake, scheme)
}

function listen<T extends FakeServer>(
  server: net.Server,
  sockets: Set<net.Socket>,
  fake: T,
  scheme: string,
): Promise<T> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      fake.url = `${scheme}://127.0.0.1:${(server.address() as net.AddressInfo).port}`
      fake.close = () =>
        new Promise<void>((done) => {
          for (const s of sockets) s.destroy()
          server.close(() => done())
        })
      resolve(fake)
    })
  })
}

export interface ScriptedEntry {
  dn: string
  attributes: Record<string, string[]>
}

/** What a scripted server answers; change it while the server runs. A number is an LDAP result code (0: success). */
export interface Script {
  bind: (dn: string, password: string) => number
  /** a result code, or the entries to return with success */
  search: (base: string, attributes: string[]) => number | ScriptedEntry[]
  /** wait this long before answering a search */
  searchDelayMs?: number
}

export interface ScriptedServer extends FakeServer {
  script: Script
  binds: string[]
  searches: string[]
}

const ERRORS: Record<number, new (message?: string) => object> = {
  1: ldapjs.OperationsError,
  32: ldapjs.NoSuchObjectError,
  49: ldapjs.InvalidCredentialsError,
  50: ldapjs.InsufficientAccessRightsError,
  51: ldapjs.BusyError,
  52: ldapjs.UnavailableError,
  53: ldapjs.UnwillingToPerformError,
  80: ldapjs.OtherError,
}

function ldapError(code: number): Error {
  // ldapjs's error classes are Errors at run time; their typings say otherwise.
  const E = ERRORS[code]
  if (!E) throw new Error(`no ldapjs error class for result ${code}`)
  return new E(`scripted result ${code}`) as unknown as Error
}

interface SearchRes {
  send(entry: unknown): void
  end(): void
  createSearchEntry(entry: { objectName: string; attributes: ldapjs.Attribute[] }): unknown
}

/** An ldapjs server that answers binds and searches as `script` says. */
export async function scriptedServer(script: Script): Promise<ScriptedServer> {
  const server = ldapjs.createServer()
  const sockets = new Set<net.Socket>()
  const tcp = (server as unknown as { server: net.Server }).server
  const fake: ScriptedServer = {
    url: '',
    connections: 0,
    script,
    binds: [],
    searches: [],
    close: async () => undefined,
  }
  tcp.on('connection', (socket: net.Socket) => {
    fake.connections++
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  server.on('error', () => undefined)
  type Next = (err?: Error) => void
  server.bind(
    '',
    (req: { dn: { toString(): string }; credentials: string }, res: { end(): void }, next: Next) => {
      const dn = req.dn.toString()
      fake.binds.push(dn)
      const code = fake.script.bind(dn, req.credentials)
      if (code) return next(ldapError(code))
      res.end()
      next()
    },
  )
  server.search(
    '',
    (req: { baseObject: { toString(): string }; attributes: string[] }, res: SearchRes, next: Next) => {
      const base = req.baseObject.toString()
      fake.searches.push(base)
      if (fake.script.searchDelayMs) {
        const delay = fake.script.searchDelayMs
        return void setTimeout(() => answerSearch(base, req.attributes, res, next), delay)
      }
      answerSearch(base, req.attributes, res, next)
    },
  )
  const answerSearch = (base: string, attributes: string[], res: SearchRes, next: Next) => {
    const answer = fake.script.search(base, attributes)
    if (typeof answer === 'number') return next(ldapError(answer))
    // As the demo directory does: ldapjs's plain-object path loses the values of requested attributes.
    for (const entry of answer) {
      const wanted = new Set(attributes.map((a) => a.toLowerCase()))
      const attrs = Object.entries(entry.attributes)
        .filter(([type]) => !wanted.size || wanted.has(type.toLowerCase()))
        .map(([type, values]) => new ldapjs.Attribute({ type, values }))
      res.send(res.createSearchEntry({ objectName: entry.dn, attributes: attrs }))
    }
    res.end()
    next()
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  fake.url = `ldap://127.0.0.1:${(tcp.address() as net.AddressInfo).port}`
  fake.close = () =>
    new Promise<void>((done) => {
      for (const s of sockets) s.destroy()
      tcp.close(() => done())
    })
  return fake
}
