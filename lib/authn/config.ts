// Schema of config/ldap_auth.ini.
import type { AccountPolicy } from './account'
import { doubled } from '../backoff'
import { iniFile, parseMainSection } from '../config/schema'
import type { Parsed, SectionSpec, SectionValues } from '../config/schema'
import { parseDn } from '../ldap/dn'
import { normaliseLogin } from './login'
import type { Mechanism } from './sasl'

const ATTRIBUTE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/

export const AUTH_SPEC = {
  mechanisms: { type: 'list', default: ['PLAIN', 'LOGIN'], item: /^(PLAIN|LOGIN)$/i, hint: 'PLAIN or LOGIN' },
  // Milliseconds from the AUTH response to the reply (directory work and failure delay included)
  auth_timeout: { type: 'int', default: 25000, min: 1000, max: 300000 },
  // Failed attempts within one session
  max_failures: { type: 'int', default: 3, min: 1, max: 100 },
  failure_delay: { type: 'int', default: 1000, min: 0, max: 20000 },
  failure_delay_max: { type: 'int', default: 8000, min: 0, max: 20000 },
  // PLAIN authorization identity
  proxy_logins: { type: 'list', default: [] },
  // Account state (authorization after the password check)
  require_group: { type: 'string', default: '' },
  group_membership: { type: 'enum', default: 'member', values: ['member', 'memberof'] },
  group_member_attributes: {
    type: 'list',
    default: ['member', 'uniqueMember'],
    item: ATTRIBUTE,
    hint: 'an attribute name',
  },
  disabled_attribute: {
    type: 'string',
    default: '',
    pattern: /^(?:[A-Za-z][A-Za-z0-9-]*)?$/,
    hint: 'an attribute name',
  },
  disabled_values: { type: 'list', default: ['TRUE'] },
  check_user_account_control: { type: 'bool', default: false },
  check_account_expires: { type: 'bool', default: false },
  check_ppolicy_lock: { type: 'bool', default: false },
  ppolicy_lockout_duration: { type: 'int', default: 0, min: 0, max: 31536000 },
  // Credential cache (seconds)
  cache_ttl: { type: 'int', default: 0, min: 0, max: 86400 },
  negative_cache_ttl: { type: 'int', default: 0, min: 0, max: 3600 },
  cache_when_directory_down: { type: 'bool', default: false },
  cache_stale_ttl: { type: 'int', default: 3600, min: 1, max: 604800 },
  cache_size: { type: 'int', default: 10000, min: 1, max: 1000000 },
  // Local credentials file (config/auth_enc_file.ini)
  local_users: { type: 'enum', default: 'off', values: ['off', 'first', 'last'] },
  local_users_when_directory_down: { type: 'bool', default: false },
  // Audit trail of AUTH decisions and policy refusals (all three plugins): Haraka's log, a file, or off
  audit: { type: 'enum', default: 'log', values: ['log', 'file', 'off'] },
  audit_file: { type: 'string', default: '' },
} satisfies SectionSpec

export interface AuthConfig extends SectionValues<typeof AUTH_SPEC> {
  readonly mechanismList: readonly Mechanism[]
  readonly account: AccountPolicy
  /** normalised, lower-cased logins allowed to give a different PLAIN authzid (local users compare so) */
  readonly proxyLogins: ReadonlySet<string>
  /** the same logins normalised with their case kept: the directory looks up each one's entry */
  readonly proxyLoginList: readonly string[]
}

export function parseAuthConfig(raw: Record<string, any>): Parsed<AuthConfig> {
  return parseMainSection(raw, AUTH_SPEC, (main, errors) => {
    const mechanismList = [...new Set(main.mechanisms.map((m) => m.toUpperCase() as Mechanism))]
    if (!mechanismList.length) errors.push('[main] mechanisms: at least one of PLAIN, LOGIN')
    if (main.failure_delay_max < main.failure_delay) {
      errors.push('[main] failure_delay_max: must not be below failure_delay')
    }
    if (main.require_group) {
      try {
        if (!parseDn(main.require_group).length) throw new Error('empty')
      } catch (err) {
        errors.push(`[main] require_group: not a DN (${(err as Error).message})`)
      }
    }
    if (main.local_users_when_directory_down && main.local_users !== 'last') {
      errors.push(
        '[main] local_users_when_directory_down: needs local_users=last (with first, listed logins never reach the directory)',
      )
    }
    if (main.audit === 'file' && !main.audit_file.startsWith('/'))
      errors.push('[main] audit_file: audit=file needs an absolute path')
    const proxyLogins = new Set<string>()
    const proxyLoginList: string[] = []
    for (const login of main.proxy_logins) {
      const n = normaliseLogin(login)
      if (n.ok) {
        proxyLogins.add(n.login.toLowerCase())
        if (!proxyLoginList.includes(n.login)) proxyLoginList.push(n.login)
      } else errors.push(`[main] proxy_logins: ${JSON.stringify(login)} is not a login (${n.reason})`)
    }
    const account: AccountPolicy = Object.freeze({
      requireGroup: main.require_group,
      groupMembership: main.group_membership as 'member' | 'memberof',
      groupMemberAttributes: main.group_member_attributes,
      disabledAttribute: main.disabled_attribute,
      disabledValues: main.disabled_values,
      checkUserAccountControl: main.check_user_account_control,
      checkAccountExpires: main.check_account_expires,
      checkPpolicyLock: main.check_ppolicy_lock,
      ppolicyLockoutDuration: main.ppolicy_lockout_duration,
    })
    return { ...main, mechanismList, account, proxyLogins, proxyLoginList }
  })
}

/** Settings that weaken security: logged as warnings at every load. */
export function authWarnings(cfg: AuthConfig): string[] {
  const w: string[] = []
  if (cfg.cache_when_directory_down) {
    w.push(
      `cache_when_directory_down=true: while the directory is down, passwords cached up to ${cfg.cache_stale_ttl} s ago are accepted (a change or lock in the directory is not seen)`,
    )
  }
  if (cfg.local_users_when_directory_down) {
    w.push(
      'local_users_when_directory_down=true: while the directory is down, auth_enc_file.ini passwords are accepted for logins it lists',
    )
  }
  if (cfg.proxyLogins.size)
    w.push(`proxy_logins: ${[...cfg.proxyLogins].join(', ')} may act as any other login (PLAIN authzid)`)
  return w
}

/** The delay before the reply to the `n`th failed attempt (1-based): doubling from failure_delay, capped. */
export function failureDelayMs(
  cfg: Pick<AuthConfig, 'failure_delay' | 'failure_delay_max'>,
  n: number,
): number {
  if (cfg.failure_delay === 0 || n < 1) return 0
  return doubled(cfg.failure_delay, n - 1, cfg.failure_delay_max)
}

/** config/ldap_auth.ini */
export const LDAP_AUTH_INI = iniFile('ldap_auth.ini', AUTH_SPEC, parseAuthConfig)
