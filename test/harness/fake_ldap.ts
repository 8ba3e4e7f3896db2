// Misbehaving LDAP servers for fault tests, on 127.0.0.1 and a free port: what
// slapd cannot be made to do on demand.
import net from 'node:net'

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
    socket.once('data', (buf) => {
      // LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp ... }: 30 len 02 idlen id ...
      const id = buf.subarray(4, 4 + buf[3]!)
      // ExtendedResponse [APPLICATION 24]: resultCode success, matchedDN "", diagnosticMessage "", responseName [10]
      const op = tlv(0x78, Buffer.concat([Buffer.from([0x0a, 1, 0, 0x04, 0, 0x04, 0]), tlv(0x8a, STARTTLS_OID)]))
      socket.write(tlv(0x30, Buffer.concat([tlv(0x02, id), op])))
    })
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      fake.url = `ldap://127.0.0.1:${(server.address() as net.AddressInfo).port}`
      fake.close = () =>
        new Promise<void>((done) => {
          for (const s of sockets) s.destroy()
          server.close(() => done())
        })
      resolve(fake)
    })
  })
}
