// Schema of config/auth_stamp.ini.
import { iniFile, parseMainSection } from '../config/schema'
import type { Parsed, SectionSpec, SectionValues, IniFile } from '../config/schema'
import { readSecretFile } from '../config/secret_file'
import { BARE_CR_MODES, type BareCrMode } from '../mail/bare_cr'
import { CIDR_HINT, cidrOption, type Cidr } from '../net/networks'
import { KEY_ID, MIN_SECRET_BYTES, SIGNED_FIELDS, StampKey } from './sign'

const HEADER_NAME = /^[!-9;-~]+$/ // RFC 5322 §3.6.8 ftext
const ATTRIBUTE = /^[A-Za-z][A-Za-z0-9-]*$/
const headerNameOption = (name: string) =>
  ({ type: 'string', default: name, pattern: HEADER_NAME, hint: 'a header field name' }) as const
const KEY_ID_OPTION = {
  type: 'string',
  default: '',
  pattern: KEY_ID,
  hint: 'a key id (letters, digits, . _ -, at most 64)',
} as const

export const STAMP_SPEC = {
  identity_header: headerNameOption('X-Authenticated-User'),
  identity_value: { type: 'enum', default: 'login', values: ['login', 'address'] },
  address_attribute: { type: 'string', default: 'mail', pattern: ATTRIBUTE, hint: 'an LDAP attribute name' },
  auth_results_mailfrom: { type: 'bool', default: true },
  received_login: { type: 'bool', default: false },
  add_date_message_id: { type: 'bool', default: true },
  stamp_header: headerNameOption('X-Auth-Stamp'),
  sign: { type: 'bool', default: false },
  verify: { type: 'bool', default: false },
  verify_peers: { type: 'list', default: [], hint: CIDR_HINT },
  key_id: KEY_ID_OPTION,
  key: { type: 'secret', default: '' },
  key_file: { type: 'string', default: '' },
  previous_key_id: KEY_ID_OPTION,
  previous_key: { type: 'secret', default: '' },
  previous_key_file: { type: 'string', default: '' },
  max_age: { type: 'int', default: 604800, min: 0, max: 31536000 },
  bare_cr: { type: 'enum', default: 'refuse', values: BARE_CR_MODES },
} satisfies SectionSpec

/**
 * Names the plugin strips from every message: they would break the message
 * (or other checks) if used for our headers.
 */
const RESERVED = new Set<string>([
  'authentication-results',
  'original-authentication-results',
  'received',
  'return-path',
  'bcc',
  ...SIGNED_FIELDS,
  'dkim-signature',
  'arc-seal',
  'arc-message-signature',
  'arc-authentication-results',
])

export interface KeyFileInfo {
  option: 'key_file' | 'previous_key_file'
  path: string
  mode: number
}

export interface StampConfig extends SectionValues<typeof STAMP_SPEC> {
  /** what a bare CR in the message data gets (the schema allows only these) */
  readonly bare_cr: BareCrMode
  /** lower-case names stripped as identity headers: identity_header and the default name */
  readonly identityNames: ReadonlySet<string>
  /** lower-case names stripped as stamp headers: stamp_header and the default name */
  readonly stampNames: ReadonlySet<string>
  /** the key new stamps are signed with (key_id), when one is configured */
  readonly signingKey: StampKey | undefined
  /** every key a stamp may be verified with: key_id and previous_key_id */
  readonly verifyKeys: readonly StampKey[]
  readonly keyFiles: readonly KeyFileInfo[]
  /** verify mode: the peers whose stamps are checked; empty = any peer */
  readonly verifyPeers: readonly Cidr[]
}

export interface StampConfigOptions {
  /** where relative key_file paths start: the Haraka instance directory (default: the current directory) */
  baseDir?: string
}

type Main = SectionValues<typeof STAMP_SPEC>

export function parseStampConfig(
  raw: Record<string, any>,
  opts: StampConfigOptions = {},
): Parsed<StampConfig> {
  return parseMainSection(raw, STAMP_SPEC, (main, errors) => buildStamp(main, raw.main ?? {}, opts, errors))
}

function buildStamp(
  main: Main,
  given: Record<string, unknown>,
  opts: StampConfigOptions,
  errors: string[],
): StampConfig {
  const identity = main.identity_header.toLowerCase()
  const stamp = main.stamp_header.toLowerCase()
  for (const [key, name] of [
    ['identity_header', identity],
    ['stamp_header', stamp],
  ] as const) {
    if (RESERVED.has(name))
      errors.push(`[main] ${key}: ${name} is a standard header; choose a name of your own`)
  }
  if (identity === stamp) errors.push('[main] stamp_header: must differ from identity_header')

  const keyFiles: KeyFileInfo[] = []
  const readKey = (prefix: '' | 'previous_'): StampKey | undefined => {
    const idKey = `${prefix}key_id` as const
    const secretKey = `${prefix}key` as const
    const fileKey = `${prefix}key_file` as const
    const id = main[idKey]
    const inline = main[secretKey]
    const file = main[fileKey]
    if (!id) {
      if (inline || file) errors.push(`[main] ${idKey}: required with ${inline ? secretKey : fileKey}`)
      return undefined
    }
    if (inline && file) {
      errors.push(`[main] ${fileKey}: give ${secretKey} or ${fileKey}, not both`)
      return undefined
    }
    let secret = inline
    if (file) {
      const read = readSecretFile(fileKey, file, opts.baseDir ?? process.cwd(), errors)
      if (!read) return undefined
      secret = read.text.trim()
      keyFiles.push({ option: fileKey, path: read.path, mode: read.mode })
    }
    if (!secret) {
      errors.push(`[main] ${secretKey}: required with ${idKey} (or ${fileKey})`)
      return undefined
    }
    const bytes = Buffer.byteLength(secret, 'utf8')
    if (bytes < MIN_SECRET_BYTES) {
      errors.push(
        `[main] ${file ? fileKey : secretKey}: the secret must be at least ${MIN_SECRET_BYTES} bytes (it has ${bytes})`,
      )
      return undefined
    }
    return new StampKey(id, Buffer.from(secret, 'utf8'))
  }

  const signingKey = readKey('')
  const previousKey = readKey('previous_')
  if (main.previous_key_id && main.previous_key_id === main.key_id) {
    errors.push('[main] previous_key_id: must differ from key_id')
  }
  if ((main.sign || main.verify) && !main.key_id) {
    errors.push(`[main] key_id: required with ${main.sign ? 'sign' : 'verify'}=true (and key or key_file)`)
  }

  return {
    ...main,
    bare_cr: main.bare_cr as BareCrMode,
    identityNames: new Set([identity, STAMP_SPEC.identity_header.default.toLowerCase()]),
    stampNames: new Set([stamp, STAMP_SPEC.stamp_header.default.toLowerCase()]),
    signingKey,
    verifyKeys: [signingKey, previousKey].filter((k): k is StampKey => k !== undefined),
    keyFiles,
    verifyPeers: cidrOption('[main] verify_peers', main.verify_peers, errors),
  }
}

/** Settings that are allowed but weaken privacy or the stamp: logged as warnings at every load. */
export function stampWarnings(cfg: StampConfig): string[] {
  const warnings: string[] = []
  if (cfg.received_login)
    warnings.push('received_login=true: the Received line names the login to every recipient')
  if (cfg.verify && cfg.max_age === 0) {
    warnings.push(
      'max_age=0: verified stamps never expire (a saved copy of a stamped message can be handed to this hop again at any time)',
    )
  }
  if (cfg.sign && !cfg.add_date_message_id) {
    warnings.push(
      'sign=true with add_date_message_id=false: a message that lacks Message-ID or Date is not signed ' +
        '(sign(no_message_id), sign(no_date))',
    )
  }
  if (cfg.verify && cfg.verifyPeers.length === 0) {
    warnings.push(
      'verify=true with verify_peers empty: a stamp from any unauthenticated peer is checked (a recipient could hand a stamp back within max_age); list the hops that relay to this one',
    )
  }
  if (cfg.bare_cr === 'allow') {
    warnings.push(
      'bare_cr=allow: a message with a bare CR is delivered as sent; a server further on that ends lines at CR can read another message in it (SMTP smuggling)',
    )
  }
  for (const f of cfg.keyFiles) {
    if (f.mode & 0o077)
      warnings.push(
        `${f.option}: ${f.path} is readable by group or others (mode ${f.mode.toString(8)}); chmod 600 it`,
      )
  }
  return warnings
}

/** One line for the log at load: what the plugin will do (never a secret). */
export function describeStamp(cfg: StampConfig): string {
  const parts = [
    `identity ${cfg.identity_header} (${cfg.identity_value === 'address' ? `primary ${cfg.address_attribute}` : 'login'})`,
    `A-R smtp.mailfrom ${cfg.auth_results_mailfrom ? 'on' : 'off'}`,
    `Received names login ${cfg.received_login ? 'yes' : 'no'}`,
    `adds missing Date/Message-ID ${cfg.add_date_message_id ? 'yes' : 'no'}`,
  ]
  if (cfg.sign) parts.push(`sign ${cfg.stamp_header} kid=${cfg.key_id}`)
  if (cfg.verify) {
    const peers = cfg.verify_peers.length ? ` from ${cfg.verify_peers.join(',')}` : ''
    parts.push(
      `verify ${cfg.stamp_header} kid=${cfg.verifyKeys.map((k) => k.id).join(',')} max_age=${cfg.max_age}s${peers}`,
    )
  }
  if (cfg.bare_cr !== 'refuse') parts.push(`bare CR ${cfg.bare_cr === 'remove' ? 'removed' : 'allowed'}`)
  return parts.join('; ')
}

/** config/auth_stamp.ini; key files named in it are read relative to `baseDir` (the Haraka instance) */
export function authStampIni(baseDir: string): IniFile<StampConfig> {
  return iniFile('auth_stamp.ini', STAMP_SPEC, (raw) => parseStampConfig(raw, { baseDir }))
}
