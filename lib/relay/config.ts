// Schema of config/auth_relay.ini: [main] options, plus the [send_as] section
// that maps a shared address to the group whose members may send as it.
import { iniFile, parseSection } from '../config/schema'
import type { Parsed, SectionSpec, SectionValues } from '../config/schema'
import { parseDirectoryConfig } from '../ldap/config'
import { compileTemplate, type Token } from '../ldap/template'
import { canonicalAddress } from '../mail/address'
import { CIDR_HINT, cidrOption, isVeryWide, type Cidr } from '../net/networks'
import { normaliseIp } from '../net/ip'
import { containConfig, containWarnings, CONTAIN_SPEC, type ContainConfig } from '../containment/config'

const ATTRIBUTE = /^[A-Za-z][A-Za-z0-9-]*$/

export const RELAY_SPEC = {
  trusted_networks: { type: 'list', default: [], hint: CIDR_HINT },
  submission_ports: { type: 'list', default: ['587', '465'], item: /^\d{1,5}$/, hint: 'a port number' },
  local_ips: { type: 'list', default: [], hint: 'an IP address' },
  verify_recipients: { type: 'bool', default: false },
  recipient_filter: { type: 'string', default: '(mail=%u)' },
  recipient_base_dn: { type: 'string', default: '' },
  sender_attributes: { type: 'list', default: ['mail'], item: ATTRIBUTE, hint: 'an LDAP attribute name' },
  subaddress_separator: { type: 'string', default: '', pattern: /^[+=_.-]$/, hint: 'one of + - = _ .' },
  enforce_sender: { type: 'bool', default: true },
  allow_null_sender: { type: 'bool', default: false },
  header_alignment: { type: 'enum', default: 'refuse', values: ['refuse', 'add_sender', 'off'] },
  identity_header_max_bytes: { type: 'int', default: 8192, min: 1024, max: 32768 },
  identity_header_max_addresses: { type: 'int', default: 100, min: 1, max: 1000 },
  mail_auth_peers: { type: 'list', default: [], hint: CIDR_HINT },
  inbound_local_sender: { type: 'enum', default: 'accept', values: ['accept', 'observe', 'refuse'] },
  pop_before_smtp_redis: { type: 'bool', default: false },
  pop_before_smtp_redis_prefix: {
    type: 'string',
    default: 'pop-before-smtp:',
    pattern: /^\S+$/,
    hint: 'a key prefix without spaces',
  },
  pop_before_smtp_file: { type: 'string', default: '' },
  pop_before_smtp_ttl: { type: 'int', default: 600, min: 10, max: 86400 },
  // containment of a compromised account (lib/containment/config)
  ...CONTAIN_SPEC,
} satisfies SectionSpec

/** Sections besides [main], for the docs drift test: name -> what its lines are. */
export const RELAY_SECTIONS = { send_as: 'shared address = group DN' } as const

export interface RelayConfig extends SectionValues<typeof RELAY_SPEC> {
  readonly trusted: readonly Cidr[]
  readonly mailAuthPeers: readonly Cidr[]
  readonly submissionPorts: ReadonlySet<number>
  readonly localIps: ReadonlySet<string>
  readonly recipientFilter: readonly Token[]
  /** canonical shared address -> DN of the group whose members may send as it */
  readonly sendAs: ReadonlyMap<string, string>
  readonly popBeforeSmtp: boolean
  /** per-login budgets and what crossing one does */
  readonly contain: ContainConfig
}

/** The recipient filter is checked exactly as ldap_directory.ini checks user_filter. */
function recipientFilter(filter: string, errors: string[]): Token[] {
  const probe = parseDirectoryConfig({
    main: { base_dn: 'dc=x', bind_dn: 'cn=x', bind_password: 'x', user_filter: filter },
  })
  if (!probe.ok) {
    for (const e of probe.errors) errors.push(e.replace('[main] user_filter', '[main] recipient_filter'))
    return []
  }
  return compileTemplate(filter)
}

function sendAsSection(raw: Record<string, unknown>, errors: string[]): Map<string, string> {
  const map = new Map<string, string>()
  for (const [key, value] of Object.entries(raw)) {
    const address = /\s/.test(key) ? null : canonicalAddress(key)
    const dn = String(value ?? '').trim()
    if (!address) errors.push(`[send_as] ${key}: not an address such as sales@example.com`)
    else if (!/^[A-Za-z][\w.-]*=[^,]+/.test(dn))
      errors.push(
        `[send_as] ${key}: ${JSON.stringify(dn)} is not a group DN such as cn=sales,ou=groups,dc=example,dc=com`,
      )
    else map.set(address, dn)
  }
  return map
}

export function parseRelayConfig(raw: Record<string, any>): Parsed<RelayConfig> {
  const errors: string[] = []
  for (const section of Object.keys(raw)) {
    if (section !== 'main' && !(section in RELAY_SECTIONS)) errors.push(`[${section}]: unknown section`)
  }
  const main = parseSection('main', raw.main, RELAY_SPEC, errors)
  const badIps = main.local_ips.filter((ip) => normaliseIp(ip) === null)
  for (const ip of badIps) errors.push(`[main] local_ips: ${JSON.stringify(ip)} is not an IP address`)
  const cfg: RelayConfig = {
    ...main,
    trusted: cidrOption('[main] trusted_networks', main.trusted_networks, errors),
    mailAuthPeers: cidrOption('[main] mail_auth_peers', main.mail_auth_peers, errors),
    submissionPorts: new Set(main.submission_ports.map(Number)),
    localIps: new Set(main.local_ips.map(normaliseIp).filter((ip): ip is string => ip !== null)),
    recipientFilter: recipientFilter(main.recipient_filter, errors),
    sendAs: sendAsSection(raw.send_as ?? {}, errors),
    popBeforeSmtp: main.pop_before_smtp_redis || main.pop_before_smtp_file !== '',
    contain: containConfig(main),
  }
  if (errors.length) return { ok: false, errors }
  return { ok: true, cfg: Object.freeze(cfg) }
}

function rangeWarnings(
  key: string,
  ranges: readonly Cidr[],
  what: { all: string; local: string; wide: string },
): string[] {
  const warnings: string[] = []
  for (const cidr of ranges) {
    const [range, bits] = cidr
    const shown = `${key}: ${range.toString()}/${bits}`
    if (bits === 0) warnings.push(`${shown} ${what.all}`)
    else if (isVeryWide(cidr)) {
      const limit =
        range.kind() === 'ipv4' ? 'an IPv4 prefix shorter than /8' : 'an IPv6 prefix shorter than /32'
      warnings.push(`${shown} is a very wide range (${limit}): ${what.wide}`)
    } else if (range.range() === 'loopback') warnings.push(`${shown} ${what.local}`)
  }
  return warnings
}

/** Settings that are allowed but weaken the relay policy: logged as warnings at every load. */
export function relayWarnings(cfg: RelayConfig): string[] {
  const warnings: string[] = []
  warnings.push(
    ...rangeWarnings('trusted_networks', cfg.trusted, {
      all: 'makes this an open relay',
      local: 'trusts local processes to relay without AUTH',
      wide: 'every client in it may relay without AUTH',
    }),
  )
  warnings.push(
    ...rangeWarnings('mail_auth_peers', cfg.mailAuthPeers, {
      all: 'believes AUTH=<mailbox> for every address on the Internet',
      local: 'believes AUTH=<mailbox> for local processes',
      wide: 'believes AUTH=<mailbox> for every client in it',
    }),
  )
  if (!cfg.enforce_sender)
    warnings.push('enforce_sender=false: authenticated users may send as any address (observe mode)')
  if (cfg.allow_null_sender)
    warnings.push('allow_null_sender=true: authenticated users may send with MAIL FROM:<>')
  const sep = cfg.subaddress_separator
  if (sep && sep !== '+') {
    warnings.push(
      `subaddress_separator=${sep}: "${sep}" is common in ordinary addresses: john${sep}smith@ counts as a sub-address of john@ unless the directory has that address for another entry`,
    )
  }
  if (cfg.header_alignment === 'off')
    warnings.push('header_alignment=off: From and Sender headers are not checked against the login')
  if (cfg.popBeforeSmtp) {
    warnings.push(
      `POP/IMAP-before-SMTP is on: an IP that logged in to POP/IMAP in the last ${cfg.pop_before_smtp_ttl} s may relay without AUTH (anyone behind the same IP, e.g. NAT, can too)`,
    )
  }
  warnings.push(...containWarnings(cfg.contain))
  return warnings
}

/** config/auth_relay.ini */
export const AUTH_RELAY_INI = iniFile('auth_relay.ini', RELAY_SPEC, parseRelayConfig)
