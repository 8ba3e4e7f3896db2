// An in-process, read-only LDAP server for `npm start`, behaving like a sensibly configured
// OpenLDAP: simple binds against userPassword, searches only once bound, userPassword never
// readable. Built on ldapjs's server (the only one on npm; decommissioned, fine for a demo).
import { readFileSync } from 'node:fs'
import type { AddressInfo, Server as NetServer, Socket } from 'node:net'
import { Attribute, createServer, parseDN, type Server } from 'ldapjs'
import { BerFramer } from './ber_framer'
import { parseLdif, type LdifEntry } from './ldif'
import { DirectoryStore, normalizeDn, type StoredEntry } from './directory_store'
import { entryMatcher, type Filter } from './matching'

export interface DemoDirectoryOptions {
  host?: string
  /** 0 picks any free port. */
  port: number
  ldifPath: string
}

export interface DemoDirectory {
  url: string
  port: number
  entries: LdifEntry[]
  close(): Promise<void>
}

const RESULT = {
  success: 0,
  sizeLimitExceeded: 4,
  noSuchObject: 32,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  unwillingToPerform: 53,
} as const

const WHO_AM_I = '1.3.6.1.4.1.4203.1.11.3'
const ANONYMOUS = 'cn=anonymous' // ldapjs's own marker for an unbound connection

// The request/response shapes ldapjs hands to handlers (untyped in @types/ldapjs).
interface Connection {
  ldap: { bindDN: ReturnType<typeof parseDN> }
}
interface Response {
  diagnosticMessage: string
  responseValue?: string
  end(status?: number): void
  send(entry: unknown): void
  createSearchEntry(entry: { objectName: string; attributes: Attribute[] }): unknown
}
interface Request {
  connection: Connection
  dn: { toString(): string }
  credentials: string
  baseObject: { toString(): string }
  scope: number
  sizeLimit: number
  typesOnly: boolean
  filter: Filter
  attributes: string[]
}
type Handler = (req: Request, res: Response, next: () => void) => void

export async function startDemoDirectory(opts: DemoDirectoryOptions): Promise<DemoDirectory> {
  const host = opts.host ?? '127.0.0.1'
  const entries = parseLdif(readFileSync(opts.ldifPath, 'utf8'))
  const store = new DirectoryStore(entries)
  const server = createServer()
  mountHandlers(server, store)
  const tcp = (server as unknown as { server: NetServer }).server
  const sockets = trackConnections(tcp)
  await listen(server, opts.port, host)
  // Malformed requests surface as 'error' after ldapjs has answered or dropped that connection.
  server.on('error', () => {})
  const port = (tcp.address() as AddressInfo).port
  let closing: Promise<void> | undefined
  return {
    url: `ldap://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    entries,
    close() {
      // idle clients (connection pools) would otherwise hold server.close() open forever
      closing ??= new Promise((resolve) => {
        tcp.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })
      return closing
    },
  }
}

// Runs after ldapjs's own connection listener (registered first, by createServer), so the
// socket already has its request parser; it then only ever sees whole, well-formed messages.
function trackConnections(tcp: NetServer): Set<Socket> {
  const sockets = new Set<Socket>()
  tcp.on('connection', (socket: Socket & { parser?: { write(data: Buffer): unknown } }) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    const parser = socket.parser
    if (parser === undefined) return socket.destroy()
    const write = parser.write.bind(parser)
    const framer = new BerFramer()
    parser.write = (data) => {
      try {
        for (const message of framer.push(data)) write(message)
      } catch {
        // malformed BER, or ldapjs choking on it: drop this client, keep serving the rest
        socket.destroy()
      }
      return true
    }
  })
  return sockets
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.removeListener('error', reject)
      resolve()
    })
  })
}

function mountHandlers(server: Server, store: DirectoryStore): void {
  server.bind('', bindHandler(store))
  server.search('', searchHandler(store))
  server.exop(WHO_AM_I, whoAmIHandler(store))
  const readOnly: Handler = (_req, res, next) =>
    finish(res, next, RESULT.unwillingToPerform, 'read-only demo directory')
  for (const mount of [server.add, server.modify, server.del, server.modifyDN, server.compare]) {
    mount.call(server, '', readOnly)
  }
}

function bindHandler(store: DirectoryStore): Handler {
  return (req, res, next) => {
    // a failed bind leaves the connection anonymous, as in OpenLDAP
    req.connection.ldap.bindDN = parseDN(ANONYMOUS)
    // RFC 4513 5.1.2: a DN without a password is an "unauthenticated" bind; refuse it
    if (req.credentials === '') {
      return finish(
        res,
        next,
        RESULT.unwillingToPerform,
        'unauthenticated bind (DN with no password) disallowed',
      )
    }
    const entry = store.authenticate(req.dn.toString(), req.credentials)
    if (entry === undefined) return finish(res, next, RESULT.invalidCredentials, 'Invalid credentials')
    req.connection.ldap.bindDN = parseDN(entry.entry.dn)
    finish(res, next, RESULT.success)
  }
}

function searchHandler(store: DirectoryStore): Handler {
  return (req, res, next) => {
    if (boundEntry(store, req.connection) === undefined) {
      return finish(res, next, RESULT.insufficientAccessRights, 'bind first')
    }
    const base = normalizeDn(req.baseObject.toString())
    if (store.find(base) === undefined) return finish(res, next, RESULT.noSuchObject, '')
    const matches = entryMatcher(req.filter)
    let sent = 0
    for (const stored of store.inScope(base, req.scope)) {
      if (!matches(stored.folded)) continue
      if (req.sizeLimit > 0 && sent >= req.sizeLimit) return finish(res, next, RESULT.sizeLimitExceeded, '')
      const attributes = selectAttributes(stored, req.attributes, req.typesOnly)
      res.send(res.createSearchEntry({ objectName: stored.entry.dn, attributes }))
      sent++
    }
    finish(res, next, RESULT.success)
  }
}

function whoAmIHandler(store: DirectoryStore): Handler {
  return (req, res, next) => {
    const entry = boundEntry(store, req.connection)
    res.responseValue = entry === undefined ? '' : `dn:${entry.entry.dn}`
    finish(res, next, RESULT.success)
  }
}

// The entry this connection is bound as; undefined when anonymous.
function boundEntry(store: DirectoryStore, connection: Connection): StoredEntry | undefined {
  const entry = store.find(connection.ldap.bindDN.toString())
  return entry?.passwordDigest === undefined ? undefined : entry
}

// RFC 4511 4.5.1.8: no list or "*" means all user attributes, "1.1" none; names are case-insensitive.
function selectAttributes(stored: StoredEntry, requested: string[], typesOnly: boolean): Attribute[] {
  const wanted = requested.map((name) => name.toLowerCase())
  const all = wanted.length === 0 || wanted.includes('*')
  return Object.entries(stored.entry.attributes)
    .filter(([name]) => name.toLowerCase() !== 'userpassword')
    .filter(([name]) => all || wanted.includes(name.toLowerCase()))
    .map(([type, values]) => new Attribute({ type, values: typesOnly ? [] : values }))
}

function finish(res: Response, next: () => void, status: number, message = ''): void {
  res.diagnosticMessage = message
  res.end(status)
  next()
}
