// A closed-loop SMTP load: `concurrency` workers, each running one session after
// another (connect, EHLO, STARTTLS, EHLO, AUTH PLAIN, optionally a relayed message,
// QUIT) until the deadline or the session budget. Records what each AUTH answered.
// closedLoop is the bare worker pool, for the benches whose work is not such a session.
import { SmtpClient } from '../../demo/smtp_client'

export type SessionKind = 'valid' | 'wrong_password' | 'non_member'

export interface SessionPlan {
  kind: SessionKind
  login: string
  password: string
}

export interface LoadOptions {
  host: string
  port: number
  ca: string
  servername: string
  concurrency: number
  /** stop starting sessions after this long (ms) … */
  durationMs: number
  /** … or after this many sessions, whichever comes first */
  maxSessions?: number
  /** the n-th session (0-based, across workers) */
  plan(n: number): SessionPlan
  /**
   * the n-th session of one extra worker that sends refused logins (wrong passwords, non-members):
   * a refusal is answered after a delay (1 s in auth_base and ldap_auth), which would otherwise
   * hold the measured workers idle
   */
  probe?(n: number): SessionPlan
  /** relay a message of about this many bytes after a successful AUTH; 0: AUTH only */
  messageBytes: number
  /** called after every finished session with the count so far */
  onSession?(done: number): void
}

export interface LoadResult {
  sessions: number
  seconds: number
  /** AUTH round trip (ms) of valid logins that were accepted */
  authMs: number[]
  validRejected: number
  wrongAccepted: number
  nonMemberAccepted: number
  messagesAccepted: number
  messagesRefused: number
  /** sessions that broke (timeout, closed connection, unexpected reply before AUTH) */
  errors: number
  firstError?: string
}

/** `concurrency` workers, each awaiting one() after another while more() says so: the seconds they took. */
export async function closedLoop(
  concurrency: number,
  more: () => boolean,
  one: () => Promise<void>,
): Promise<number> {
  const start = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (more()) await one()
    }),
  )
  return Number(process.hrtime.bigint() - start) / 1e9
}

export function benchMessage(from: string, to: string, bytes: number): string {
  const head = [
    `From: ${from}`,
    `To: ${to}`,
    'Subject: bench',
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${process.hrtime.bigint()}.${Math.random().toString(36).slice(2)}@client.example.net>`,
    '',
  ].join('\r\n')
  const line = 'The quick brown fox jumps over the lazy dog, again and again and again.\r\n'
  let body = ''
  while (head.length + body.length < bytes) body += line
  return `${head}\r\n${body}`
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = {
    sessions: 0,
    seconds: 0,
    authMs: [],
    validRejected: 0,
    wrongAccepted: 0,
    nonMemberAccepted: 0,
    messagesAccepted: 0,
    messagesRefused: 0,
    errors: 0,
  }
  let started = 0
  const start = performance.now()
  const end = start + opts.durationMs
  const more = () => performance.now() < end && (opts.maxSessions === undefined || started < opts.maxSessions)

  const session = async (plan: SessionPlan): Promise<void> => {
    const client = await SmtpClient.connect({
      host: opts.host,
      port: opts.port,
      ca: opts.ca,
      servername: opts.servername,
      timeoutMs: 15_000,
    })
    try {
      await client.ehlo('client.example.net')
      const tls = await client.starttls()
      if (tls.code !== 220) throw new Error(`STARTTLS: ${tls.lines.join(' | ')}`)
      await client.ehlo('client.example.net')
      const t0 = performance.now()
      const auth = await client.authPlain(plan.login, plan.password)
      const ms = performance.now() - t0
      const accepted = auth.code === 235
      if (plan.kind === 'valid') {
        if (accepted) result.authMs.push(ms)
        else result.validRejected++
      } else if (accepted) {
        if (plan.kind === 'wrong_password') result.wrongAccepted++
        else result.nonMemberAccepted++
      }
      if (accepted && opts.messageBytes > 0) {
        const rcpt = 'someone@example.net'
        const ok =
          (await client.mailFrom(plan.login)).code === 250 &&
          (await client.rcptTo(rcpt)).code === 250 &&
          (await client.data(benchMessage(plan.login, rcpt, opts.messageBytes))).code === 250
        if (ok) result.messagesAccepted++
        else result.messagesRefused++
      }
      await client.send('QUIT').catch(() => undefined)
    } finally {
      await client.close()
    }
  }

  let probed = 0
  const worker = async (probe: boolean): Promise<void> => {
    while (more()) {
      const plan = probe && opts.probe ? opts.probe(probed++) : opts.plan(started++)
      try {
        await session(plan)
      } catch (err) {
        result.errors++
        result.firstError ??= err instanceof Error ? err.message : String(err)
      }
      result.sessions++
      opts.onSession?.(result.sessions)
    }
  }
  const workers = Array.from({ length: opts.concurrency }, () => worker(false))
  if (opts.probe) workers.push(worker(true))
  await Promise.all(workers)
  result.seconds = (performance.now() - start) / 1000
  return result
}
