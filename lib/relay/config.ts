// Schema of config/auth_relay.ini.
import { defaultsOf, parseMainSection, type Parsed, type SectionSpec, type SectionValues } from '../config/schema'
import { isCidr, parseCidrs, type Cidr } from './networks'

const ATTRIBUTE = /^[A-Za-z][A-Za-z0-9-]*$/

export const RELAY_SPEC = {
  trusted_networks: { type: 'list', default: [], hint: 'a CIDR range such as 192.0.2.0/24' },
  submission_ports: { type: 'list', default: ['587', '465'], item: /^\d{1,5}$/, hint: 'a port number' },
  sender_attributes: { type: 'list', default: ['mail'], item: ATTRIBUTE, hint: 'an LDAP attribute name' },
  enforce_sender: { type: 'bool', default: true },
  allow_null_sender: { type: 'bool', default: false },
} satisfies SectionSpec

export const RELAY_DEFAULTS = Object.freeze(defaultsOf(RELAY_SPEC))

export interface RelayConfig extends SectionValues<typeof RELAY_SPEC> {
  readonly trusted: readonly Cidr[]
  readonly submissionPorts: ReadonlySet<number>
}

export function parseRelayConfig(raw: Record<string, any>): Parsed<RelayConfig> {
  return parseMainSection(raw, RELAY_SPEC, (main, errors) => {
    const bad = main.trusted_networks.filter((c) => !isCidr(c))
    for (const c of bad) errors.push(`[main] trusted_networks: ${JSON.stringify(c)} is not a CIDR range such as 192.0.2.0/24`)
    return {
      ...main,
      trusted: bad.length ? [] : parseCidrs(main.trusted_networks),
      submissionPorts: new Set(main.submission_ports.map(Number)),
    }
  })
}

/** Settings that are allowed but weaken the relay policy: logged as warnings at every load. */
export function relayWarnings(cfg: RelayConfig): string[] {
  const warnings: string[] = []
  for (const [range, bits] of cfg.trusted) {
    if (bits === 0) warnings.push(`trusted_networks: ${range.toString()}/0 makes this an open relay`)
    else if (range.range() === 'loopback') warnings.push(`trusted_networks: ${range.toString()}/${bits} trusts local processes to relay without AUTH`)
  }
  if (!cfg.enforce_sender) warnings.push('enforce_sender=false: authenticated users may send as any address (observe mode)')
  if (cfg.allow_null_sender) warnings.push('allow_null_sender=true: authenticated users may send with MAIL FROM:<>')
  return warnings
}
