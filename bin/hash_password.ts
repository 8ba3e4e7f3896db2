// npm run hash-password -- --login svc@example.com [--rounds 5000]
// Prints a line for the [users] section of config/auth_enc_file.ini. The
// password is read from standard input (first line) when it is piped, or asked
// for twice without echo on a terminal; never from the command line, where
// other users could see it in the process list.
import { normaliseLogin } from '../lib/authn/login'
import { hasControlCharacters } from '../lib/text'
import { clampRounds, ROUNDS_DEFAULT, sha512crypt } from '../lib/authn/sha512crypt'
import { processIo, readPassword } from './cli/common'

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

/** Also `haraka-ldap hash-password`. */
export async function main(argv: string[]): Promise<number> {
  const { login, rounds } = parseArgs(argv)
  const password = await readPassword(processIo, { confirm: true }).catch((err: Error) => usage(err.message))
  if (!password) usage('empty password')
  // ldap_auth refuses these in AUTH (501 5.5.2), so a hash of such a password could never be used.
  if (hasControlCharacters(password)) {
    usage('the password holds a control character (TAB, ESC, ...), which SMTP AUTH refuses')
  }
  process.stdout.write(`${login}=${sha512crypt(password, { rounds: rounds ?? ROUNDS_DEFAULT })}\n`)
  return 0
}

if (require.main === module)
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: Error) => usage(err.message),
  )
