// Tests of the test harness itself: throwaway slapd, SMTP client, Haraka instance.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import net from 'node:net'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Client, InvalidCredentialsError, NoSuchObjectError } from 'ldapts'
import { startHaraka } from './haraka'
import { listMessages, waitForMessage } from './mail_sink'
import { isListening } from '../../demo/ports'
import { freePort } from './ports'
import { startSlapd, type Slapd } from './slapd'
import { SmtpClient, SmtpClientError } from '../../demo/smtp_client'
import { REPO } from './paths'

const LDIF = path.join(REPO, 'demo/directory.ldif')
const SERVICE_DN = 'cn=haraka,ou=services,dc=example,dc=com'
const SERVICE_PASSWORD = 'haraka-service-secret'
const ALICE_DN = 'uid=alice,ou=people,dc=example,dc=com'

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>, timeout = 3000): Promise<T> {
  const client = new Client({ url, timeout, connectTimeout: timeout })
  try {
    return await fn(client)
  } finally {
    await client.unbind().catch(() => undefined)
  }
}

function findAlice(url: string) {
  return withClient(url, async (client) => {
    await client.bind(SERVICE_DN, SERVICE_PASSWORD)
    const { searchEntries } = await client.search('ou=people,dc=example,dc=com', {
      scope: 'sub',
      filter: '(uid=alice)',
      attributes: ['mail'],
      sizeLimit: 2,
    })
    return searchEntries
  })
}

describe('ports', () => {
  it('freePort returns a port nothing listens on', async () => {
    const port = await freePort()
    assert.ok(port > 0 && port < 65536)
    assert.equal(await isListening(port), false)
  })
})

describe('slapd harness', () => {
  let slapd: Slapd

  before(async () => {
    slapd = await startSlapd({ ldif: [LDIF] })
  })
  after(async () => {
    await slapd?.dispose()
  })

  it('serves the demo directory to the service account', async () => {
    assert.match(slapd.url, /^ldap:\/\/127\.0\.0\.1:\d+$/)
    assert.ok(slapd.pid > 0)
    const entries = await findAlice(slapd.url)
    assert.equal(entries.length, 1)
    assert.equal(entries[0]?.dn, ALICE_DN)
    assert.deepEqual(entries[0]?.mail, ['alice@example.com', 'a.liddell@example.com'])
  })

  it('checks user passwords', async () => {
    await withClient(slapd.url, (client) => client.bind(ALICE_DN, 'wonderland-42'))
    await assert.rejects(
      withClient(slapd.url, (client) => client.bind(ALICE_DN, 'wrong-password')),
      InvalidCredentialsError,
    )
  })

  it('accepts an unauthenticated bind (DN, empty password) as anonymous, which reads nothing', async () => {
    await withClient(slapd.url, async (client) => {
      await client.bind(ALICE_DN, '')
      await assert.rejects(
        client.search('ou=people,dc=example,dc=com', { filter: '(uid=alice)' }),
        NoSuchObjectError,
      )
    })
  })

  it('hangs while SIGSTOPped and answers again after SIGCONT', async () => {
    slapd.signal('SIGSTOP')
    try {
      await assert.rejects(withClient(slapd.url, (client) => client.bind(SERVICE_DN, SERVICE_PASSWORD), 500))
    } finally {
      slapd.signal('SIGCONT')
    }
    assert.equal((await findAlice(slapd.url)).length, 1)
  })

  it('keeps port and data across stop()/start() and SIGKILL/start()', async () => {
    const { port } = slapd
    await slapd.stop()
    assert.equal(slapd.pid, 0)
    assert.equal(await isListening(port), false)
    await slapd.stop() // idempotent
    await slapd.start()
    assert.equal(slapd.port, port)
    assert.equal((await findAlice(slapd.url)).length, 1)

    const oldPid = slapd.pid
    slapd.signal('SIGKILL')
    await waitFor(() => slapd.pid === 0)
    await slapd.start()
    assert.notEqual(slapd.pid, oldPid)
    assert.equal((await findAlice(slapd.url)).length, 1)
  })

  it('loads extra schema files and modules: AD-like attributes are searchable, ppolicy attributes exist', async () => {
    const extra = path.join(mkdtempSync(path.join(tmpdir(), 'ldif-')), 'extra.ldif')
    writeFileSync(
      extra,
      [
        'dn: uid=dave,ou=people,dc=example,dc=com',
        'objectClass: inetOrgPerson',
        'objectClass: mailAliasesUser',
        'objectClass: adLikeUser',
        'uid: dave',
        'cn: Dave',
        'sn: Dave',
        'mailAlternateAddress: d@example.com',
        'proxyAddresses: SMTP:Dave@Example.com',
        'userAccountControl: 514',
        'pwdAccountLockedTime: 20260101000000Z',
        '',
      ].join('\n'),
    )
    const other = await startSlapd({
      ldif: [LDIF, extra],
      schemas: [path.join(REPO, 'test/fixtures/directory-extras.schema')],
      modules: ['ppolicy'],
      databaseDirectives: ['overlay ppolicy'],
    })
    try {
      const entries = await withClient(other.url, async (client) => {
        await client.bind(SERVICE_DN, SERVICE_PASSWORD)
        const filter =
          '(&(mailAlternateAddress=D@EXAMPLE.COM)(proxyAddresses=smtp:dave@example.com)(userAccountControl=514))'
        const r = await client.search('ou=people,dc=example,dc=com', {
          filter,
          attributes: ['uid', 'pwdAccountLockedTime'],
        })
        return r.searchEntries
      })
      assert.equal(entries.length, 1)
      assert.equal(entries[0]?.uid, 'dave')
      assert.equal(entries[0]?.pwdAccountLockedTime, '20260101000000Z')
    } finally {
      await other.dispose()
      rmSync(path.dirname(extra), { recursive: true, force: true })
    }
  })

  it('frees the port and removes its dir on dispose()', async () => {
    const other = await startSlapd({ ldif: [LDIF] })
    await other.dispose()
    await other.dispose() // idempotent
    assert.equal(await isListening(other.port), false)
    assert.equal(existsSync(other.dir), false)
  })
})

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const b64 = (text: string) => Buffer.from(text).toString('base64')

/** A scripted fake SMTP server: handler gets each client line and the socket. */
async function fakeSmtp(
  handler: (line: string, socket: net.Socket) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    socket.write('220-fake.example ESMTP\r\n220 ready\r\n')
    let buffer = ''
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1')
      let end: number
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        handler(line, socket)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

describe('SmtpClient', () => {
  const received: string[] = []
  let server: Awaited<ReturnType<typeof fakeSmtp>>
  let inData = false

  before(async () => {
    server = await fakeSmtp((line, socket) => {
      received.push(line)
      if (inData) {
        if (line === '.') {
          inData = false
          socket.write('250 2.0.0 queued\r\n')
        }
        return
      }
      const verb = line.split(' ')[0]?.toUpperCase()
      if (verb === 'EHLO')
        socket.write('250-fake.example hello\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n')
      else if (line === 'AUTH PLAIN') socket.write('334 \r\n')
      else if (line === 'AUTH LOGIN') socket.write('334 VXNlcm5hbWU6\r\n')
      else if (line === b64('alice')) socket.write('334 UGFzc3dvcmQ6\r\n')
      else if (verb === 'AUTH' || line === b64('s3cret!') || line === b64('\0alice\0s3cret!'))
        socket.write('235 2.7.0 Authentication successful\r\n')
      else if (verb === 'DATA') {
        inData = true
        socket.write('354 go ahead\r\n')
      } else if (verb === 'SILENT') {
        // never answer: exercises the per-reply timeout
      } else if (verb === 'HANGUP') socket.destroy()
      else if (verb === 'QUIT') socket.end('221 2.0.0 bye\r\n')
      else socket.write('502 5.5.1 unknown command\r\n')
    })
  })
  after(async () => {
    await server?.close()
  })

  it('reads multi-line replies and enhanced status codes', async () => {
    const client = await SmtpClient.connect({ port: server.port })
    try {
      assert.equal(client.greeting.code, 220)
      assert.equal(client.greeting.text, 'fake.example ESMTP\nready')
      const ehlo = await client.ehlo('tester')
      assert.equal(ehlo.code, 250)
      assert.deepEqual(ehlo.capabilities, ['PIPELINING', 'AUTH PLAIN LOGIN'])
      const unknown = await client.send('NOOPX')
      assert.equal(unknown.code, 502)
      assert.equal(unknown.enhanced, '5.5.1')
      assert.equal(unknown.text, 'unknown command')
      assert.equal(client.isTls, false)
    } finally {
      await client.close()
    }
  })

  it('dot-stuffs DATA and sends CRLF line endings', async () => {
    const client = await SmtpClient.connect({ port: server.port })
    try {
      received.length = 0
      const reply = await client.data('Subject: x\n\n.leading dot\nplain\n')
      assert.equal(reply.code, 250)
      assert.deepEqual(received, ['DATA', 'Subject: x', '', '..leading dot', 'plain', '.'])
    } finally {
      await client.quit()
    }
    assert.equal(client.closed, true)
  })

  it('rejects with ETIMEDOUT when no reply comes in time', async () => {
    const client = await SmtpClient.connect({ port: server.port, timeoutMs: 200 })
    try {
      await assert.rejects(client.send('SILENT'), (err: unknown) => {
        assert.ok(err instanceof SmtpClientError)
        assert.equal(err.code, 'ETIMEDOUT')
        return true
      })
    } finally {
      await client.close()
    }
  })

  it('rejects with ECLOSED when the server closes the connection', async () => {
    const client = await SmtpClient.connect({ port: server.port })
    await assert.rejects(client.send('HANGUP'), (err: unknown) => {
      assert.ok(err instanceof SmtpClientError)
      assert.equal(err.code, 'ECLOSED')
      return true
    })
    assert.equal(client.closed, true)
    await assert.rejects(client.send('NOOP'), { code: 'ECLOSED' })
  })

  it('redacts AUTH credentials in the transcript', async () => {
    const client = await SmtpClient.connect({ port: server.port })
    try {
      assert.equal((await client.authPlain('alice', 's3cret!')).code, 235)
      assert.equal((await client.authPlain('alice', 's3cret!', { initialResponse: false })).code, 235)
      assert.equal((await client.authLogin('alice', 's3cret!')).code, 235)
    } finally {
      await client.quit()
    }
    const transcript = client.transcript.join('\n')
    const secrets = ['s3cret!', b64('s3cret!'), b64('alice'), b64('\0alice\0s3cret!')]
    for (const secret of secrets) assert.ok(!transcript.includes(secret), `transcript leaks ${secret}`)
    assert.ok(transcript.includes('C: AUTH PLAIN <redacted>'))
    assert.ok(transcript.includes('C: AUTH LOGIN'))
    assert.ok(transcript.includes('S: 334 VXNlcm5hbWU6'))
    assert.equal(client.transcript.filter((line) => line === 'C: <redacted>').length, 3)
  })
})

describe('mail sink reader', () => {
  it('counts a message once its .json exists and unfolds header fields', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mail-sink-test-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const eml =
      'Subject: a long\r\n  folded subject\r\nX-Tag: one\r\nx-tag: two\r\n\r\nX-Tag: in the body\r\n'
    writeFileSync(path.join(dir, 'u1.eml'), eml)
    assert.deepEqual(listMessages(dir), [])

    const waiting = waitForMessage(dir, (m) => m.envelope.mail_from === 'alice@example.com', 2000)
    const envelope = { uuid: 'u1', mail_from: 'alice@example.com', rcpt_to: ['bob@example.com'] }
    writeFileSync(path.join(dir, 'u1.json'), JSON.stringify(envelope))
    const msg = await waiting
    assert.equal(msg.uuid, 'u1')
    assert.deepEqual(msg.envelope.rcpt_to, ['bob@example.com'])
    assert.deepEqual(msg.headers('subject'), ['a long  folded subject'])
    assert.deepEqual(msg.headers('X-TAG'), ['one', 'two'])
    await assert.rejects(
      waitForMessage(dir, (m) => m.uuid === 'nope', 100),
      /no matching message/,
    )
  })
})

describe('Haraka harness (tls plugin only)', () => {
  it('offers STARTTLS on submission and implicit TLS on smtps, with its own CA', async (t) => {
    // Haraka's own connection.ini: core config files replace Haraka's defaults whole, and this
    // test is about the harness, not about the repo's connection settings.
    const connectionIni = readFileSync(path.join(REPO, 'node_modules/Haraka/config/connection.ini'), 'utf8')
    const haraka = await startHaraka({
      ldapUrl: 'ldap://127.0.0.1:9',
      files: { plugins: 'tls\n', 'connection.ini': connectionIni },
    })
    t.after(() => haraka.stop())
    const { ports, caCert } = haraka

    const submission = await SmtpClient.connect({ port: ports.submission, ca: caCert })
    try {
      assert.equal(submission.greeting.code, 220)
      const ehlo = await submission.ehlo('tester.example')
      assert.ok(ehlo.capabilities.includes('STARTTLS'), ehlo.lines.join('\n'))
      assert.equal((await submission.starttls()).code, 220)
      assert.equal(submission.isTls, true)
      assert.equal((await submission.ehlo('tester.example')).code, 250)
    } finally {
      await submission.quit()
    }

    const smtps = await SmtpClient.connect({ port: ports.smtps, implicitTls: true, ca: caCert })
    try {
      assert.equal(smtps.isTls, true)
      assert.equal(smtps.greeting.code, 220)
      assert.equal((await smtps.ehlo('tester.example')).code, 250)
    } finally {
      await smtps.quit()
    }

    // Without the instance CA the certificate must not verify.
    await assert.rejects(SmtpClient.connect({ port: ports.smtps, implicitTls: true }))

    await haraka.stop()
    await haraka.stop() // idempotent
    assert.equal(existsSync(haraka.dir), false)
    for (const port of Object.values(ports)) assert.equal(await isListening(port), false)
  })
})
