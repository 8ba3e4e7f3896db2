// `npm run verify-stamp -- [--config config/auth_stamp.ini] message.eml`: check
// the signed stamp of a saved message with the keys of auth_stamp.ini.
// Prints `valid: ...` (exit 0) or `invalid: <reason>` (exit 1); usage and
// configuration errors exit 2.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { readConfig } from '../lib/config/read_dir'
import { authStampIni, parseStampConfig } from '../lib/stamp/config'
import { headerFieldsOf } from '../lib/mail/fields'
import { bodyHash, bodyOfRaw } from '../lib/stamp/body'
import { verifyMessage } from '../lib/stamp/sign'
import { withoutControls } from '../lib/text'

const USAGE = `Usage: npm run verify-stamp -- [options] <message.eml>

Checks the signed stamp (stamp_header, default X-Auth-Stamp) of a saved message
with the keys of auth_stamp.ini (key_id and previous_key_id): the signature over
login, envelope sender, time, the signed header fields (From, Sender, Reply-To,
To, Cc, Subject, Date, Message-ID, In-Reply-To, References, MIME-Version,
Content-Type, Content-Transfer-Encoding) and the body hash, the key id and the age.
Prints "valid: ..." and exits 0, or "invalid: <reason>" and exits 1.
Usage and configuration errors exit 2.

  --config <file>      auth_stamp.ini with the keys (default: config/auth_stamp.ini);
                       relative paths (key_file too) start in the current directory
  --mail-from <addr>   also require the stamp to name this envelope sender ('' for <>)
  --max-age <seconds>  instead of the config's max_age (0: no limit)
  --help               show this help
`

const printable = (s: string) => withoutControls(s, '?')

function usage(message: string): never {
  process.stderr.write(`verify-stamp: ${message}\n\n${USAGE}`)
  process.exit(2)
}

/** Also `haraka-ldap verify-stamp`. */
export function main(argv: string[]): number {
  let args
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', default: 'config/auth_stamp.ini' },
        'mail-from': { type: 'string' },
        'max-age': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    })
  } catch (err) {
    usage((err as Error).message)
  }
  if (args.values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  if (args.positionals.length !== 1) usage('give exactly one .eml file')
  const maxAgeText = args.values['max-age']
  if (maxAgeText !== undefined && !/^\d{1,9}$/.test(maxAgeText))
    usage(`--max-age ${JSON.stringify(maxAgeText)} is not a number of seconds`)

  // Under `npm run`, the current directory is the package; INIT_CWD is where the user ran it.
  const cwd = process.env.INIT_CWD ?? process.cwd()
  const configFile = path.resolve(cwd, args.values.config)
  let parsed: ReturnType<typeof parseStampConfig>
  try {
    // Read as the plugin reads it (lib/config/read_dir): a key is the exact text written.
    const ini = { ...authStampIni(cwd), name: path.basename(configFile) }
    parsed = readConfig([path.dirname(configFile)], ini, { required: true })
  } catch (err) {
    usage(`cannot read ${configFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (!parsed.ok) usage(`${configFile} is invalid: ${parsed.errors.join('; ')}`)
  const cfg = parsed.cfg
  if (cfg.verifyKeys.length === 0)
    usage(`${configFile} has no key (key_id with key or key_file): nothing to verify with`)

  const emlFile = path.resolve(cwd, args.positionals[0]!)
  let eml: Buffer
  try {
    eml = readFileSync(emlFile)
  } catch (err) {
    usage(`cannot read ${emlFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const now = Math.floor(Date.now() / 1000)
  // The header as text (Haraka keeps it as UTF-8 text too); the body hashed as the bytes it is.
  const message = { fields: headerFieldsOf(eml.toString('utf8')), bodyHash: bodyHash(bodyOfRaw(eml)) }
  const { verdict } = verifyMessage(message, new Set([cfg.stamp_header.toLowerCase()]), {
    keys: cfg.verifyKeys,
    now,
    maxAge: maxAgeText === undefined ? cfg.max_age : Number(maxAgeText),
    mailFrom: args.values['mail-from'],
  })
  if (!verdict.valid) {
    process.stdout.write(`invalid: ${verdict.reason}: ${printable(verdict.detail)}\n`)
    return 1
  }
  const at = new Date(verdict.timestamp * 1000).toISOString().replace(/\.000Z$/, 'Z')
  process.stdout.write(
    `valid: signed by kid=${verdict.kid}, login=${printable(verdict.login)}, mailfrom=${printable(verdict.mailFrom) || '<>'}, at ${at}\n`,
  )
  return 0
}

if (require.main === module) process.exitCode = main(process.argv.slice(2))
