// Runs swaks (https://jetmore.org/john/code/swaks/, Debian package swaks, installed by
// test/ensure-deps.sh) as a real third-party SMTP client, and reads its transcript, so a
// quirk of our own demo/smtp_client cannot hide a server bug.
//
// Every run is bounded twice: swaks's own --timeout per SMTP step, and a kill of the
// process when the whole run takes longer than timeoutMs. --auth-hide-password is always
// given, so the transcript (and any assertion message quoting it) never holds a password.
import { spawn } from 'node:child_process'

export interface SwaksReply {
  code: number
  /** the enhanced status code (RFC 3463) when the reply has one */
  enhanced: string | undefined
  /** the text after the codes, lines joined with ' | ' */
  text: string
  /** received over TLS (swaks marks those lines `<~`) */
  tls: boolean
}

export interface SwaksRun {
  /** swaks's exit status (0 success, 23 MAIL refused, 24 no RCPT accepted, 26 message refused, 28 AUTH, ...) */
  status: number | null
  /** stdout then stderr: the transcript and swaks's own `***` error lines */
  transcript: string
  /** every server reply, in order */
  replies: SwaksReply[]
  /** every line swaks sent, in order (the message data included) */
  sent: string[]
}

const DEFAULT_TIMEOUT_MS = 20_000

/** Run swaks with `args` (plus --timeout and --auth-hide-password); never rejects. */
export function swaks(args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<SwaksRun> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const stepSeconds = Math.max(1, Math.floor(timeoutMs / 2000))
  return new Promise((resolve) => {
    const child = spawn('swaks', [...args, '--timeout', `${stepSeconds}s`, '--auth-hide-password'], {
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.once('error', (e) => (err += `\nswaks could not run: ${e.message}\n`))
    child.once('close', (code, signal) => {
      const transcript =
        out + err + (signal ? `\n(swaks ended by ${signal} after at most ${timeoutMs} ms)\n` : '')
      resolve({ status: code, transcript, ...parseTranscript(out) })
    })
  })
}

// swaks's line prefixes: `<- ` reply, `<~ ` reply over TLS, `<**`/`<~*` reply it did not
// expect; ` ->`/` ~>` sent, `**>`/`*~>` sent in error.
const RECEIVED = /^<(- |~ |\*\*|~\*) (\d{3})([ -])(.*)$/
const SENT = /^(?: ->| ~>|\*\*>|\*~>) ?(.*)$/

export function parseTranscript(text: string): { replies: SwaksReply[]; sent: string[] } {
  const replies: SwaksReply[] = []
  const sent: string[] = []
  let lines: string[] = []
  for (const line of text.split(/\r?\n/)) {
    const r = RECEIVED.exec(line)
    if (r) {
      lines.push(r[4]!)
      if (r[3] === ' ') {
        const enh = /^([245]\.\d{1,3}\.\d{1,3})(?: (.*))?$/.exec(lines[0]!)
        if (enh) lines[0] = enh[2] ?? ''
        replies.push({
          code: Number(r[2]),
          enhanced: enh?.[1],
          text: lines.join(' | '),
          tls: r[1]!.startsWith('~'),
        })
        lines = []
      }
      continue
    }
    const s = SENT.exec(line)
    if (s) sent.push(s[1]!)
  }
  return { replies, sent }
}

/** The first reply with this code, or an assertion-ready error naming the transcript. */
export function replyWith(run: SwaksRun, code: number): SwaksReply {
  const r = run.replies.find((reply) => reply.code === code)
  if (!r) throw new Error(`no ${code} reply in the swaks transcript:\n${run.transcript}`)
  return r
}

export interface SwaksTarget {
  host: string
  port: number
  /** STARTTLS or implicit TLS, verified against `caFile` (the instance's certificate), or clear text */
  tls: 'starttls' | 'implicit' | 'none'
  caFile?: string
}

/** swaks to one port of a Haraka instance, as a client named client.example.net. */
export function swaksTo(target: SwaksTarget, args: string[]): Promise<SwaksRun> {
  const tlsArgs =
    target.tls === 'none'
      ? []
      : [
          target.tls === 'starttls' ? '--tls' : '--tls-on-connect',
          '--tls-verify',
          '--tls-ca-path',
          target.caFile ?? '',
        ]
  const where = ['--server', target.host, '--port', String(target.port), '--ehlo', 'client.example.net']
  return swaks([...where, ...tlsArgs, ...args])
}

/** AUTH PLAIN as `login`; swaks hides the password in its transcript (see swaks()). */
export function authPlainArgs(login: string, password: string): string[] {
  return ['--auth', 'PLAIN', '--auth-user', login, '--auth-password', password]
}
