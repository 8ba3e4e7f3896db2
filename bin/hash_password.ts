// npm run hash-password -- --login svc@example.com [--rounds 5000]
// Prints a line for the [users] section of config/auth_enc_file.ini. The
// password is read from standard input (first line) when it is piped, or asked
// for twice without echo on a terminal; never from the command line, where
// other users could see it in the process list.
import { TextDecoder } from 'node:util'
import { normaliseLogin } from '../lib/authn/login'
import { hasControlCharacters } from '../lib/text'
import { clampRounds, ROUNDS_DEFAULT, sha512crypt } from '../lib/authn/sha512crypt'

// haraka-config's ini reader accepts only these characters in a key.
const INI_KEY = /^[\w@:.+\-/]+$/

function usage(message?: string): never {
  if (message) process.stderr.write(`hash-password: ${message}\n`)
  process.stderr.write(
    'usage: npm run hash-password -- --login <login> [--rounds N]  (password on stdin or asked for)\n',
  )
  process.exit(2)
}

function parseArgs(argv: string[]): { login: string; rounds: number | undefined } {
  let login: string | undefined
  let rounds: number | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--login') login = argv[++i]
    else if (arg === '--rounds') rounds = Number(argv[++i])
    else if (arg === '--help' || arg === '-h') usage()
    else
      usage(
        `unknown argument ${JSON.stringify(arg)}${arg?.startsWith('--pass') ? ' (the password is never an argument)' : ''}`,
      )
  }
  if (!login) usage('--login is required')
  const norm = normaliseLogin(login)
  if (!norm.ok) usage(`not a valid login (${norm.reason})`)
  if (!INI_KEY.test(norm.login)) usage('a local login may use only letters, digits and @ . _ + - : /')
  if (rounds !== undefined && !Number.isInteger(rounds)) usage('--rounds must be a whole number')
  if (rounds !== undefined && clampRounds(rounds) !== rounds) usage('--rounds must be from 1000 to 999999999')
  return { login: norm.login, rounds }
}

/** Strict UTF-8, as ldap_auth decodes AUTH: bytes that are not UTF-8 are an error, never U+FFFD. */
function utf8(): TextDecoder {
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
}

async function readPiped(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  let text: string
  try {
    text = utf8().decode(Buffer.concat(chunks))
  } catch {
    throw new Error('the password is not valid UTF-8')
  }
  return text.split(/\r?\n/)[0] ?? ''
}

function askHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin
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
        return finish(new Error('the password is not valid UTF-8'))
      }
      for (const ch of chars) {
        if (ch === '\r' || ch === '\n') return finish()
        if (ch === '\u0003') return finish(new Error('cancelled'))
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

async function main(): Promise<void> {
  const { login, rounds } = parseArgs(process.argv.slice(2))
  let password: string
  if (process.stdin.isTTY) {
    password = await askHidden('Password: ')
    if ((await askHidden('Again: ')) !== password) usage('the passwords differ')
  } else {
    password = await readPiped()
  }
  if (!password) usage('empty password')
  // ldap_auth refuses these in AUTH (501 5.5.2), so a hash of such a password could never be used.
  if (hasControlCharacters(password)) {
    usage('the password holds a control character (TAB, ESC, ...), which SMTP AUTH refuses')
  }
  process.stdout.write(`${login}=${sha512crypt(password, { rounds: rounds ?? ROUNDS_DEFAULT })}\n`)
}

main().catch((err: Error) => usage(err.message))
