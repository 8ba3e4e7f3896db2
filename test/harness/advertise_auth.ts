// A pipe for `swaks --pipe "node advertise_auth.js <host> <port>"`: relays stdin/stdout to
// an SMTP server on loopback and adds `250-AUTH PLAIN LOGIN` to every EHLO reply that lacks
// an AUTH line. swaks (like any well-behaved client) sends AUTH only when it is advertised,
// and our server does not advertise it before TLS; this lie makes swaks send AUTH in clear
// text, so the test sees the server's own answer to that (538 5.7.11), not swaks's restraint.
import net from 'node:net'

const [host, port] = process.argv.slice(2)
if (!host || !/^127\./.test(host) || !port) {
  process.stderr.write('usage: advertise_auth.js <127.x.x.x> <port>\n')
  process.exit(2)
}

const socket = net.connect({ host, port: Number(port) })
let pending = ''
let reply: string[] = []

socket.on('data', (chunk: Buffer) => {
  pending += chunk.toString('latin1')
  let nl: number
  while ((nl = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, nl + 1)
    pending = pending.slice(nl + 1)
    reply.push(line)
    if (/^\d{3} /.test(line)) {
      // the last line of a reply: an EHLO reply is a multi-line 250 whose first line greets
      const isEhlo = reply.length > 1 && reply.every((l) => l.startsWith('250'))
      if (isEhlo && !reply.some((l) => /^250[ -]AUTH\b/i.test(l))) {
        reply.splice(reply.length - 1, 0, '250-AUTH PLAIN LOGIN\r\n')
      }
      process.stdout.write(Buffer.from(reply.join(''), 'latin1'))
      reply = []
    }
  }
})
socket.on('close', () => process.exit(0))
socket.on('error', (err) => {
  process.stderr.write(`advertise_auth: ${err.message}\n`)
  process.exit(1)
})
process.stdin.on('data', (chunk: Buffer) => socket.write(chunk))
process.stdin.on('end', () => socket.end())
