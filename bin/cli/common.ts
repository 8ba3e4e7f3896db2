// What every haraka-ldap subcommand shares: the exit codes, the config/ folder
// read as the plugins read it (lib/config/read_dir, without Haraka), the output
// (text, or one JSON document with --json) and the password, which is read from
// a prompt without echo or from standard input, never from the command line.
import path from 'node:path'
import { TextDecoder } from 'node:util'
import { readConfig } from '../../lib/config/read_dir'
import type { IniFile } from '../../lib/config/schema'

/** 0 ok; 1 refused, or a problem found; 2 usage or configuration error. */
export const EXIT = { OK: 0, REFUSED: 1, USAGE: 2 } as const

/** A usage or configuration error: printed on stderr (or as {error} with --json), exit 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export interface Io {
  out(text: string): void
  err(text: string): void
  /** the password source: a terminal (prompt without echo) or a pipe (its first line) */
  stdin: NodeJS.ReadStream
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  stdin: process.stdin,
}

/** Where the user ran the command (under `npm run`, INIT_CWD; the current directory is the package). */
export function userCwd(): string {
  return process.env.INIT_CWD ?? process.cwd()
}

/** The config folder of --config (default ./config), absolute. */
export function configDir(option: string | undefined): string {
  return path.resolve(userCwd(), option ?? 'config')
}

/** The Haraka instance folder, the parent of config/ (where auth_stamp resolves key files). */
export function instanceDir(dir: string): string {
  return path.dirname(dir)
}

/** One ini file of `dir`, parsed as its plugin parses it; a file that does not parse is a UsageError. */
export function loadIni<T>(dir: string, ini: IniFile<T>): T {
  let parsed
  try {
    parsed = readConfig([dir], ini)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new UsageError(`cannot read ${path.join(dir, ini.name)}: ${code}`)
  }
  if (!parsed.ok) throw new UsageError(`${path.join(dir, ini.name)} is invalid: ${parsed.errors.join('; ')}`)
  return parsed.cfg
}

/** Strict UTF-8, as ldap_auth decodes AUTH: bytes that are not UTF-8 are an error, never U+FFFD. */
function utf8(): TextDecoder {
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
}

/** The first line of a piped standard input. */
export async function readPiped(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stdin) chunks.push(chunk as Buffer)
  let text: string
  try {
    text = utf8().decode(Buffer.concat(chunks))
  } catch {
    throw new UsageError('the password is not valid UTF-8')
  }
  return text.split(/\r?\n/)[0] ?? ''
}

/** A line typed on the terminal without echo (raw mode), the prompt on stderr. */
export function askHidden(stdin: NodeJS.ReadStream, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt)
    stdin.setRawMode(true)
    stdin.resume()
    let text = ''
    const decoder = utf8()
    const onData = (buf: Buffer) => {
      let chars: string
      try {
        chars = decoder.decode(buf, { stream: true }) // a character may span two chunks
      } catch {
        return finish(new UsageError('the password is not valid UTF-8'))
      }
      for (const ch of chars) {
        if (ch === '\r' || ch === '\n') return finish()
        if (ch === '\u0003') return finish(new UsageError('cancelled'))
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('')
        else text += ch
      }
    }
    const finish = (err?: Error) => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
      if (err) reject(err)
      else resolve(text)
    }
    stdin.on('data', onData)
  })
}

/** A password: asked for without echo on a terminal (twice when `confirm`), else the first line of stdin. */
export async function readPassword(io: Io, opts: { confirm?: boolean } = {}): Promise<string> {
  if (!io.stdin.isTTY) return readPiped(io.stdin)
  const password = await askHidden(io.stdin, 'Password: ')
  if (opts.confirm && (await askHidden(io.stdin, 'Again: ')) !== password)
    throw new UsageError('the passwords differ')
  return password
}

/** An option that looks like a password on the command line: refused, so it never lands in ps or the history. */
export function refusePasswordOption(args: readonly string[]): void {
  if (args.some((a) => /^--?pass(word)?(=|$)/i.test(a)))
    throw new UsageError('the password is never an argument: type it at the prompt or pipe it on stdin')
}

/** A text table: columns padded to their widest cell, two spaces apart, the last one unpadded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}
