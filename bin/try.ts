// `npm run try -- --user alice --pass ... --to bob@example.com`: submit one small
// message through the local instance and show the SMTP conversation (credentials redacted).
import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { SmtpClient, type Reply } from '../demo/smtp_client'
import { rfc5322Date } from '../lib/stamp/plan'

const DEFAULT_CA = path.resolve(__dirname, '../..', 'config/tls_cert.pem')

const USAGE = `Usage: npm run try -- [options]

Submit one test message: EHLO, STARTTLS, EHLO, AUTH, MAIL, RCPT, DATA, QUIT.
Prints the transcript (credentials redacted); exits 0 when the message was accepted.

  --host <host>        server (default 127.0.0.1)
  --port <port>        port (default 2587, or 2465 with --implicit-tls)
  --implicit-tls       TLS from the first byte (SMTPS) instead of STARTTLS
  --user <name>        authenticate as this user (no AUTH without it)
  --pass <password>    password (default: $SMTP_PASSWORD)
  --mech PLAIN|LOGIN   AUTH mechanism (default PLAIN)
  --from <address>     envelope and header sender (default: --user when it is an address)
  --to <address>       recipient, repeatable (default: the sender)
  --subject <text>     Subject header
  --ca <pem file>      CA to verify the server (default: config/tls_cert.pem when present)
  --insecure           do not verify the server certificate
  --help               show this help
`

class Refused extends Error {
  constructor(
    readonly step: string,
    readonly reply: Reply,
  ) {
    super(`${step} refused: ${reply.lines.join(' / ')}`)
  }
}

function expect(step: string, reply: Reply, code: number): Reply {
  if (reply.code !== code) throw new Refused(step, reply)
  return reply
}

function buildMessage(from: string, to: string[], subject: string): string {
  const domain = from.split('@')[1] || 'localhost'
  return [
    `From: <${from}>`,
    `To: ${to.map((addr) => `<${addr}>`).join(', ')}`,
    `Subject: ${subject}`,
    `Date: ${rfc5322Date(Math.floor(Date.now() / 1000))}`,
    `Message-ID: <${randomUUID()}@${domain}>`,
    '',
    'Hello from npm run try.',
    '',
  ].join('\r\n')
}

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      'implicit-tls': { type: 'boolean', default: false },
      user: { type: 'string' },
      pass: { type: 'string' },
      mech: { type: 'string', default: 'PLAIN' },
      from: { type: 'string' },
      to: { type: 'string', multiple: true },
      subject: { type: 'string', default: 'Test message from npm run try' },
      ca: { type: 'string' },
      insecure: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.help) return undefined
  const implicitTls = values['implicit-tls']
  const port = Number(values.port ?? (implicitTls ? 2465 : 2587))
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid --port: ${values.port}`)
  const mech = values.mech.toUpperCase()
  if (mech !== 'PLAIN' && mech !== 'LOGIN')
    throw new Error(`--mech must be PLAIN or LOGIN, not ${values.mech}`)
  const pass = values.pass ?? process.env.SMTP_PASSWORD
  if (values.user !== undefined && pass === undefined)
    throw new Error('--user needs --pass (or $SMTP_PASSWORD)')
  const from = values.from ?? (values.user?.includes('@') ? values.user : undefined)
  if (!from) throw new Error('--from is required (or a --user that is an email address)')
  const caFile = values.ca ?? (existsSync(DEFAULT_CA) ? DEFAULT_CA : undefined)
  return {
    host: values.host,
    port,
    implicitTls,
    user: values.user,
    pass: pass ?? '',
    mech,
    from,
    to: values.to?.length ? values.to : [from],
    subject: values.subject,
    ca: caFile && !values.insecure ? readFileSync(caFile) : undefined,
    insecure: values.insecure,
  }
}

type Args = NonNullable<ReturnType<typeof parse>>

async function submit(args: Args, client: SmtpClient): Promise<Reply> {
  expect('greeting', client.greeting, 220)
  expect('EHLO', await client.ehlo('try.localhost'), 250)
  if (!args.implicitTls) {
    expect('STARTTLS', await client.starttls(), 220)
    expect('EHLO after STARTTLS', await client.ehlo('try.localhost'), 250)
  }
  if (args.user !== undefined) {
    const auth =
      args.mech === 'LOGIN' ? client.authLogin(args.user, args.pass) : client.authPlain(args.user, args.pass)
    expect(`AUTH ${args.mech}`, await auth, 235)
  }
  expect('MAIL FROM', await client.mailFrom(args.from), 250)
  const accepted: string[] = []
  let lastRefusal: Reply | undefined
  for (const rcpt of args.to) {
    const reply = await client.rcptTo(rcpt)
    if (reply.code === 250 || reply.code === 251) accepted.push(rcpt)
    else lastRefusal = reply
  }
  if (!accepted.length) throw new Refused('RCPT TO', lastRefusal!)
  return expect('DATA', await client.data(buildMessage(args.from, args.to, args.subject)), 250)
}

function certificateHint(err: unknown): string {
  const code = String((err as { code?: unknown }).code ?? '')
  const certProblem = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)
  return certProblem ? ' (pass the server certificate with --ca <pem>, or --insecure)' : ''
}

/** Also `haraka-ldap try`. */
export async function main(argv: string[]): Promise<number> {
  let args: Args | undefined
  try {
    args = parse(argv)
  } catch (err) {
    console.error(`try: ${(err as Error).message}\n\n${USAGE}`)
    return 1
  }
  if (!args) {
    console.log(USAGE)
    return 0
  }

  let client: SmtpClient | undefined
  try {
    client = await SmtpClient.connect({
      host: args.host,
      port: args.port,
      implicitTls: args.implicitTls,
      ca: args.ca,
      rejectUnauthorized: !args.insecure,
    })
    const done = await submit(args, client)
    await client.quit().catch(() => undefined)
    console.log(client.transcript.join('\n'))
    console.log(`\nOK: message accepted: ${done.code} ${done.text.split('\n')[0]}`)
    return 0
  } catch (err) {
    if (client) {
      await client.quit().catch(() => undefined)
      console.log(client.transcript.join('\n'))
    }
    console.log(`\nFAILED: ${(err as Error).message}${certificateHint(err)}`)
    return 1
  } finally {
    await client?.close()
  }
}

if (require.main === module)
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code
  })
