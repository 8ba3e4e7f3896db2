// Schema of config/auth_limits.ini: the AUTH limiter's budgets, windows and ban
// ladder (lib/limiter/policy). Defaults are for a small company out of the box:
// a person who mistypes a few times never notices, a script guessing passwords
// is slowed from its third distinct guess and banned at its tenth.
import { randomBytes } from 'node:crypto'
import { iniFile, parseMainSection } from '../config/schema'
import type { Parsed, SectionSpec, SectionValues } from '../config/schema'
import { cidrOption, type Cidr } from '../net/networks'

export const LIMITS_SPEC = {
  enabled: { type: 'bool', default: true },
  // HMAC key of password fingerprints and familiar sources; empty: a random one per process
  secret: { type: 'secret', default: '' },
  // Seconds a failure counts in its keys
  window: { type: 'int', default: 900, min: 10, max: 86400 },
  // Distinct (login, password) failures in the window before a ban (0: no ban on that key)
  ip_failures: { type: 'int', default: 10, min: 0, max: 100000 },
  subnet_failures: { type: 'int', default: 30, min: 0, max: 100000 },
  pair_failures: { type: 'int', default: 5, min: 0, max: 100000 },
  // Distinct passwords failing for one login before unfamiliar sources are refused for it
  login_failures: { type: 'int', default: 10, min: 0, max: 100000 },
  // The same for one login from one of its familiar sources
  familiar_failures: { type: 'int', default: 20, min: 0, max: 100000 },
  // Distinct failures across every source and login before unfamiliar sources are refused (0: off)
  global_failures: { type: 'int', default: 0, min: 0, max: 10000000 },
  ipv4_subnet: { type: 'int', default: 24, min: 8, max: 32 },
  ipv6_subnet: { type: 'int', default: 48, min: 16, max: 128 },
  ipv6_host: { type: 'int', default: 64, min: 32, max: 128 },
  // Growing delay before the AUTH reply (milliseconds)
  delay_after: { type: 'int', default: 3, min: 1, max: 100000 },
  delay: { type: 'int', default: 1000, min: 0, max: 60000 },
  delay_max: { type: 'int', default: 15000, min: 0, max: 60000 },
  // Ban ladder (seconds)
  ban: { type: 'int', default: 300, min: 1, max: 604800 },
  ban_max: { type: 'int', default: 86400, min: 1, max: 2592000 },
  ban_memory: { type: 'int', default: 86400, min: 1, max: 2592000 },
  // Familiar sources
  familiar_ttl: { type: 'int', default: 2592000, min: 60, max: 31536000 },
  familiar_ipv4_subnet: { type: 'int', default: 24, min: 8, max: 32 },
  familiar_ipv6_subnet: { type: 'int', default: 64, min: 16, max: 128 },
  exempt_networks: { type: 'list', default: [] },
  // Containment trigger: a success from an unfamiliar source right after a burst of failures
  suspend_unfamiliar_after_failures: { type: 'bool', default: false },
  suspend_burst: { type: 'int', default: 5, min: 1, max: 100000 },
  // Milliseconds one store round trip may take before the attempt goes on without the limiter
  store_timeout: { type: 'int', default: 500, min: 10, max: 10000 },
} satisfies SectionSpec

export interface LimitsConfig extends SectionValues<typeof LIMITS_SPEC> {
  /** exempt_networks, parsed */
  readonly exempt: readonly Cidr[]
  /** the HMAC key: `secret`, or random bytes for this process when it is empty */
  readonly key: Buffer
  /** true when `key` is this process's own (an unset secret) */
  readonly randomKey: boolean
}

/** The key of a process without a secret: one for its life, so a reload keeps familiar sources. */
const PROCESS_KEY = randomBytes(32)

export function parseLimitsConfig(raw: Record<string, any>): Parsed<LimitsConfig> {
  return parseMainSection(raw, LIMITS_SPEC, (main, errors) => {
    if (main.delay_max < main.delay) errors.push('[main] delay_max: must not be below delay')
    if (main.ban_max < main.ban) errors.push('[main] ban_max: must not be below ban')
    if (main.ipv6_subnet > main.ipv6_host)
      errors.push('[main] ipv6_subnet: must not be longer than ipv6_host (a subnet holds hosts)')
    if (main.secret && Buffer.byteLength(main.secret) < 16)
      errors.push('[main] secret: at least 16 characters (or empty: a random key per process)')
    const exempt = cidrOption('[main] exempt_networks', main.exempt_networks, errors)
    const randomKey = !main.secret
    const key = randomKey ? PROCESS_KEY : Buffer.from(main.secret)
    return { ...main, exempt, key, randomKey }
  })
}

/** Settings worth a warning at load. */
export function limitsWarnings(cfg: LimitsConfig): string[] {
  return cfg.enabled ? [] : ['enabled=false: no limit on AUTH guesses across connections']
}

/** What the plugin notes at load (info): an unset secret. */
export function limitsNotes(cfg: LimitsConfig): string[] {
  if (!cfg.enabled || !cfg.randomKey) return []
  return [
    'secret is empty: with shared_state.ini store=redis the key kept in Redis, else a random key for this process (fine for one process; processes sharing a store need the same secret)',
  ]
}

/** config/auth_limits.ini */
export const AUTH_LIMITS_INI = iniFile('auth_limits.ini', LIMITS_SPEC, parseLimitsConfig)
