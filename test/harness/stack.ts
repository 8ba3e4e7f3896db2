// A real OpenLDAP slapd (loaded with the demo directory plus optional extra
// LDIF) and a real Haraka with our plugins in front of it, for end-to-end tests.
import path from 'node:path'
import { startHaraka, type HarakaInstance, type HarakaOptions } from './haraka'
import { startSlapd, type Slapd } from './slapd'
import assert from 'node:assert/strict'
import { SmtpClient, type Reply } from '../../demo/smtp_client'
import { REPO } from './paths'

export const DEMO_LDIF = path.join(REPO, 'demo/directory.ldif')
export { FIXTURE_DIR } from './paths'

export const ALICE = { login: 'alice@example.com', uid: 'alice', password: 'wonderland-42' }
export const BOB = { login: 'bob@example.com', uid: 'bob', password: 'can-we-fix-it' }

export interface Stack {
  slapd: Slapd
  haraka: HarakaInstance
  /** A client on the submission port after EHLO, STARTTLS and EHLO again (from `from`, a loopback source address). */
  submission(from?: string): Promise<SmtpClient>
  /** A client on the implicit-TLS port after EHLO. */
  smtps(): Promise<SmtpClient>
  /** A client on the inbound (port-25 style) port after EHLO, without TLS. */
  inbound(): Promise<SmtpClient>
  stop(): Promise<void>
}

export interface StackOptions {
  files?: Record<string, string>
  ini?: HarakaOptions['ini']
  ldif?: string[]
  /** extra slapd schema files, e.g. path.join(FIXTURE_DIR, 'directory-extras.schema') */
  schemas?: string[]
  /** passed to startHaraka: listen address and fixed ports */
  host?: HarakaOptions['host']
  ports?: HarakaOptions['ports']
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const slapd = await startSlapd({ ldif: [DEMO_LDIF, ...(opts.ldif ?? [])], schemas: opts.schemas })
  let haraka: HarakaInstance
  try {
    haraka = await startHaraka({
      ldapUrl: slapd.url,
      files: opts.files,
      ini: opts.ini,
      host: opts.host,
      ports: opts.ports,
    })
  } catch (err) {
    await slapd.dispose()
    throw err
  }
  const clients: SmtpClient[] = []
  const track = (c: SmtpClient) => {
    clients.push(c)
    return c
  }
  return {
    slapd,
    haraka,
    async submission(from?: string) {
      const c = track(
        await SmtpClient.connect({
          host: haraka.host,
          port: haraka.ports.submission,
          ca: haraka.caCert,
          servername: 'mail.example.com',
          ...(from ? { localAddress: from } : {}),
        }),
      )
      await c.ehlo('client.example.net')
      const r = await c.starttls()
      if (r.code !== 220) throw new Error(`STARTTLS refused: ${r.lines.join(' | ')}`)
      await c.ehlo('client.example.net')
      return c
    },
    async smtps() {
      const c = track(
        await SmtpClient.connect({
          host: haraka.host,
          port: haraka.ports.smtps,
          implicitTls: true,
          ca: haraka.caCert,
          servername: 'mail.example.com',
        }),
      )
      await c.ehlo('client.example.net')
      return c
    },
    async inbound() {
      const c = track(
        await SmtpClient.connect({
          host: haraka.host,
          port: haraka.ports.inbound,
          ca: haraka.caCert,
          servername: 'mail.example.com',
        }),
      )
      await c.ehlo('client.example.net')
      return c
    },
    async stop() {
      for (const c of clients) c.close()
      await haraka.stop()
      await slapd.dispose()
    },
  }
}

/** A small RFC 5322 message. */
export function message(opts: {
  from: string
  to: string
  subject?: string
  headers?: string[]
  body?: string
}): string {
  return [
    `From: ${opts.from}`,
    `To: ${opts.to}`,
    `Subject: ${opts.subject ?? 'test'}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${Math.random().toString(36).slice(2)}@client.example.net>`,
    ...(opts.headers ?? []),
    '',
    opts.body ?? 'Hello.',
    '',
  ].join('\r\n')
}

/**
 * Haraka writes its log through a pipe, so a line may arrive a moment after the
 * SMTP reply it belongs to: wait (up to 5 s) for a line matching `pattern`.
 */
export async function waitForLog(
  haraka: HarakaInstance,
  pattern: RegExp | string,
  timeoutMs = 5000,
): Promise<void> {
  const test = (text: string) => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text))
  const deadline = Date.now() + timeoutMs
  while (!test(haraka.logs())) {
    if (Date.now() > deadline)
      throw new Error(`no log line matching ${String(pattern)} within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** A reply's code, and its enhanced code and text when given, with the whole reply in the message. */
export function expectReply(r: Reply, code: number, enhanced?: string, text?: RegExp): void {
  assert.equal(r.code, code, r.lines.join(' | '))
  if (enhanced) assert.equal(r.enhanced, enhanced)
  if (text) assert.match(r.text, text)
}

/** The greeting a bare connection to the submission port from `from` (a loopback address) gets. */
export async function greetingFrom(stack: Stack, from: string): Promise<Reply> {
  const c = await SmtpClient.connect({
    host: stack.haraka.host,
    port: stack.haraka.ports.submission,
    localAddress: from,
  })
  c.close()
  return c.greeting
}

/** How many simple BINDs as uid=<uid> (under ou=people) slapd has logged. */
export function bindsOf(stack: Stack, uid: string): number {
  const dn = `BIND dn="uid=${uid},ou=people,dc=example,dc=com" method=128`
  return (stack.slapd.logTail(5_000_000).match(new RegExp(dn, 'g')) ?? []).length
}
