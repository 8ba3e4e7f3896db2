// `haraka-ldap test <login>`: one AUTH attempt through the pipeline ldap_auth runs
// (createAuthenticator over the same config/), with every directory operation it
// made (lib/ldap through ./trace), each account-state check's verdict, the cache,
// and the decision and reply the client would get. Nothing is counted anywhere;
// the bind is real, so a wrong password is a failed bind the directory may count
// (ppolicy's pwdMaxFailure, AD's lockout threshold).
//
// Dry run (the only mode): the running Haraka's limiter is asked first, through
// the admin socket, for its verdict on (--rip, login) without counting; when it
// would refuse (a ban, a locked login) or shield (a password it knows is wrong),
// no bind is sent, so the test itself cannot add to a lockout. The password
// never leaves this command except in the bind, as in a real AUTH: the limiter
// is sent only its 16-bit fingerprint, computed here with auth_limits.ini's
// secret; without a secret (a random key per process) the fingerprint cannot be
// computed outside Haraka and the known-wrong check is reported as not made.
import { createAuthenticator } from '../../lib/authn/authenticator'
import { checkAccountState, needsGroupEntryCheck, type AccountPolicy } from '../../lib/authn/account'
import { LDAP_AUTH_INI, type AuthConfig } from '../../lib/authn/config'
import { verdictDecision } from '../../lib/authn/decide'
import { AUTH_ENC_FILE_INI } from '../../lib/authn/local_users'
import { hasControlCharacters } from '../../lib/text'
import { LDAP_DIRECTORY_INI } from '../../lib/ldap/config'
import { createDirectory, type LdapDirectory } from '../../lib/ldap/directory'
import { DirectoryHandle } from '../../lib/ldap/handle'
import type { ServerEvent } from '../../lib/ldap/servers'
import type { DirectoryEntry } from '../../lib/ldap/types'
import ipaddr from 'ipaddr.js'
import { normaliseLogin } from '../../lib/authn/login'
import type { CacheEntryInfo } from '../../lib/authn/cache'
import type { LimitCheck } from '../../lib/limiter/admin'
import { AUTH_LIMITS_INI } from '../../lib/limiter/config'
import { canonicalLogin, fingerprint } from '../../lib/limiter/keys'
import { EXIT, loadIni, readPassword, UsageError, type Io } from './common'
import { askHaraka } from './admin'
import { tracedDirectory, type Step, type Trace } from './trace'

export interface AccountCheck {
  check: string
  verdict: 'pass' | 'fail'
  reason?: string
}

export interface TestReport {
  login: string
  mode: string
  servers: { url: string; up: boolean }[]
  /** the server the operations ran on: the first one up (connections go to the earliest up server) */
  server: string | null
  server_events: ServerEvent[]
  steps: Step[]
  account_checks: AccountCheck[]
  cache: string
  /** the running Haraka's cache for this login (per process: the freshest entry, the refused pairs summed) */
  cache_state: ({ state: 'known' } & CacheEntryInfo) | { state: 'unknown'; reason: string }
  /** the running Haraka's limiter on this attempt, asked without counting */
  limiter: LimiterState
  local_users: string
  decision: { verdict: 'pass' | 'fail'; outcome: string; rule: string; reason: string; detail?: string }
  identity?: string
  user?: string
  reply: { code: number; enh: string; text: string }
}

export type LimiterState =
  | { state: 'off' }
  | { state: 'unknown'; reason: string }
  | ({ state: 'known'; fingerprint: 'sent' | 'not computed (no secret in auth_limits.ini)' } & LimitCheck)

const STRICTNESS = { ask: 0, shield: 1, refuse: 2 } as const

/** The limiter's verdict in the running Haraka, without counting: the strictest answer of its processes. */
async function askLimiter(
  dir: string,
  login: string,
  password: string,
  rip: string | undefined,
): Promise<LimiterState> {
  const cfg = loadIni(dir, AUTH_LIMITS_INI)
  if (!cfg.enabled) return { state: 'off' }
  const norm = normaliseLogin(login)
  if (!norm.ok)
    return { state: 'unknown', reason: `not a login (${norm.reason}): ldap_auth refuses it unasked` }
  const fp = cfg.randomKey ? undefined : fingerprint(cfg.key, canonicalLogin(norm.login), password)
  try {
    const { results } = await askHaraka(dir, {
      command: 'limits.check',
      args: { login: norm.login, ...(rip ? { rip } : {}), ...(fp ? { fingerprint: fp } : {}) },
    })
    const checks = (results as LimitCheck[]).filter((c) => c.enabled)
    if (!checks.length) return { state: 'off' }
    const worst = checks.reduce((a, b) =>
      STRICTNESS[b.verdict ?? 'ask'] > STRICTNESS[a.verdict ?? 'ask'] ? b : a,
    )
    return {
      state: 'known',
      fingerprint: fp ? 'sent' : 'not computed (no secret in auth_limits.ini)',
      ...worst,
    }
  } catch (err) {
    return { state: 'unknown', reason: (err as Error).message }
  }
}

async function askCache(dir: string, login: string): Promise<TestReport['cache_state']> {
  try {
    const { results } = await askHaraka(dir, { command: 'cache.show', args: { login } })
    const answers = results as CacheEntryInfo[]
    const ages = answers.map((a) => a.positive_age_ms).filter((a): a is number => a !== null)
    return {
      state: 'known',
      positive_age_ms: ages.length ? Math.min(...ages) : null,
      negative: answers.reduce((n, a) => n + a.negative, 0),
    }
  } catch (err) {
    return { state: 'unknown', reason: (err as Error).message }
  }
}

export async function testLogin(
  io: Io,
  dir: string,
  login: string,
  opts: { authzid?: string; rip?: string },
): Promise<{ report: TestReport; code: number }> {
  const dirCfg = loadIni(dir, LDAP_DIRECTORY_INI)
  const auth = loadIni(dir, LDAP_AUTH_INI)
  const localUsers = auth.local_users !== 'off' ? loadIni(dir, AUTH_ENC_FILE_INI) : undefined
  if (opts.rip !== undefined && !ipaddr.isValid(opts.rip))
    throw new UsageError(`--rip ${opts.rip}: not an address`)
  const password = await readPassword(io)
  if (!password) throw new UsageError('empty password (ldap_auth refuses it before any bind)')
  if (hasControlCharacters(password))
    throw new UsageError('the password holds a control character, which SMTP AUTH refuses (501 5.5.2)')

  const limiter = await askLimiter(dir, login, password, opts.rip)
  const cacheNow = await askCache(dir, login)
  const base = {
    mode: dirCfg.mode,
    cache: cacheState(auth),
    cache_state: cacheNow,
    limiter,
    local_users: auth.local_users === 'off' ? 'off' : `${auth.local_users} (${localUsers?.size ?? 0} listed)`,
  }
  // Refused or shielded by the limiter: ldap_auth would not ask the directory, and neither do we.
  if (limiter.state === 'known' && limiter.verdict !== 'ask' && limiter.reply) {
    const report: TestReport = {
      login,
      ...base,
      servers: [],
      server: null,
      server_events: [],
      steps: [],
      account_checks: [],
      decision: {
        verdict: 'fail',
        outcome: limiter.verdict === 'refuse' ? 'LIMITED' : 'PASSWORD_MISMATCH',
        rule: 'limit',
        reason: limiter.reason ?? 'unknown',
        ...(limiter.detail ? { detail: `${limiter.detail}; no bind was sent` } : {}),
      },
      reply: { ...limiter.reply },
    }
    return { report, code: EXIT.REFUSED }
  }

  const trace: Trace = { steps: [], entry: undefined }
  const events: ServerEvent[] = []
  let ldap: LdapDirectory | undefined
  const handle = new DirectoryHandle((cfg) => {
    ldap = createDirectory(cfg, { onServerEvent: (e) => events.push(e) })
    return tracedDirectory(ldap, cfg, trace)
  })
  handle.update(dirCfg)
  const authenticator = createAuthenticator({ directory: dirCfg, auth, localUsers, handle })
  try {
    const verdict = await authenticator.verify({ authcid: login, authzid: opts.authzid ?? '', password })
    const decision = verdictDecision(verdict)
    const servers = ldap?.serverStatus() ?? []
    const ranOnDirectory = trace.steps.some((s) => s.op !== 'dn_templates' && s.op !== 'error')
    const report: TestReport = {
      login: verdict.login ?? login,
      ...base,
      servers,
      server: ranOnDirectory ? (servers.find((s) => s.up)?.url ?? null) : null,
      server_events: events,
      steps: trace.steps,
      account_checks: boundOk(trace.steps) ? accountChecks(trace, auth) : [],
      decision: {
        verdict: decision.verdict === 'pass' ? 'pass' : 'fail',
        outcome: verdict.outcome,
        rule: verdict.rule,
        reason: verdict.reason,
        ...(verdict.detail ? { detail: verdict.detail } : {}),
      },
      ...(verdict.identity ? { identity: verdict.identity } : {}),
      ...(verdict.user ? { user: verdict.user } : {}),
      reply: { ...decision.reply },
    }
    return { report, code: verdict.outcome === 'OK' ? EXIT.OK : EXIT.REFUSED }
  } finally {
    await authenticator.close()
    await handle.close()
  }
}

function boundOk(steps: readonly Step[]): boolean {
  return steps.some((s) => s.op === 'bind' && s.result === 'ok')
}

const NO_CHECKS = {
  requireGroup: '',
  disabledAttribute: '',
  checkUserAccountControl: false,
  checkAccountExpires: false,
  checkPpolicyLock: false,
} satisfies Partial<AccountPolicy>

/** Each account-state check ldap_auth.ini turns on, alone, over the entry the pipeline read. */
function accountChecks(trace: Trace, auth: AuthConfig): AccountCheck[] {
  const p = auth.account
  const only = (check: string, policy: Partial<AccountPolicy>): AccountCheck => {
    const v = checkAccountState(trace.entry as DirectoryEntry | null, { ...p, ...NO_CHECKS, ...policy })
    return v.ok ? { check, verdict: 'pass' } : { check, verdict: 'fail', reason: v.reason }
  }
  const checks: AccountCheck[] = []
  if (p.disabledAttribute)
    checks.push(only(`disabled_attribute=${p.disabledAttribute}`, { disabledAttribute: p.disabledAttribute }))
  if (p.checkUserAccountControl)
    checks.push(only('check_user_account_control', { checkUserAccountControl: true }))
  if (p.checkAccountExpires) checks.push(only('check_account_expires', { checkAccountExpires: true }))
  if (p.checkPpolicyLock) checks.push(only('check_ppolicy_lock', { checkPpolicyLock: true }))
  if (p.requireGroup && !needsGroupEntryCheck(p))
    checks.push(only(`require_group (memberOf)`, { requireGroup: p.requireGroup }))
  if (needsGroupEntryCheck(p)) {
    const group = trace.steps.find((s) => s.op === 'group')
    checks.push(
      group?.op === 'group'
        ? {
            check: 'require_group (member)',
            verdict: group.member ? 'pass' : 'fail',
            ...(group.member ? {} : { reason: 'not_in_required_group' }),
          }
        : {
            check: 'require_group (member)',
            verdict: 'fail',
            reason: 'not checked (an earlier check refused)',
          },
    )
  }
  return checks
}

function cacheState(auth: AuthConfig): string {
  if (auth.cache_ttl === 0 && auth.negative_cache_ttl === 0) return 'off (cache_ttl=0, negative_cache_ttl=0)'
  return `on (cache_ttl=${auth.cache_ttl} s, negative_cache_ttl=${auth.negative_cache_ttl} s); this run used an empty cache (each Haraka process keeps its own, below)`
}

function describeCache(c: TestReport['cache_state']): string {
  if (c.state === 'unknown') return `in Haraka: unknown (${c.reason})`
  const pos =
    c.positive_age_ms === null
      ? 'no accepted password'
      : `an accepted password, stored ${Math.round(c.positive_age_ms / 1000)} s ago`
  return `in Haraka: ${pos}; ${c.negative} refused password(s)`
}

function describeLimiter(l: LimiterState): string {
  if (l.state === 'off') return 'off (auth_limits.ini enabled=false)'
  if (l.state === 'unknown') return `state unknown (${l.reason}); the test goes on without it`
  const c = l.counts ?? {}
  const from = l.rip ? `from ${l.rip}` : 'from an address with no history (no --rip)'
  const source = l.familiar ? 'familiar' : 'unfamiliar'
  const wrong =
    l.known_wrong === null
      ? `known-wrong not checked: fingerprint ${l.fingerprint}`
      : `known wrong: ${l.known_wrong ? 'yes' : 'no'}`
  const verdict =
    l.verdict === 'ask'
      ? 'would ask the directory'
      : `would answer ${l.reply?.code} without the directory: limit(${l.reason})`
  return `${from}, ${source} source${l.exempt ? ', exempt' : ''}: failures ip ${c.ip}, subnet ${c.subnet}, login ${c.login}, pair ${c.pair}${l.familiar ? `, familiar ${c.familiar}` : ''}; ${wrong}; ${verdict} (nothing counted)`
}

function describeStep(s: Step): string {
  switch (s.op) {
    case 'search':
      return `search    base=${s.base} scope=${s.scope} filter=${s.filter} -> ${s.result}${s.dn ? ` ${s.dn}` : ''}`
    case 'dn_templates':
      return `templates ${s.dns.join(' | ') || '(none)'}`
    case 'bind':
      return `bind      ${s.dn}: ${s.result}`
    case 'read':
      return `read      ${s.dn}: ${s.result}`
    case 'group':
      return `group     ${s.group}: ${s.member ? 'member' : 'not a member'}`
    case 'error':
      return `error     during ${s.during}: ${s.error}`
  }
}

export function renderTest(r: TestReport): string {
  const lines = [
    `login     ${r.login}`,
    `directory ${r.servers.map((s) => `${s.url} (${s.up ? 'up' : 'down'})`).join(', ') || '(not asked)'} mode=${r.mode}`,
    `server    ${r.server ?? '(no directory operation answered)'}`,
    ...r.server_events.map((e) => `event     ${e.url} marked ${e.up ? 'up' : 'down'}: ${e.reason}`),
    ...r.steps.map(describeStep),
    ...r.account_checks.map((c) => `check     ${c.check}: ${c.verdict}${c.reason ? ` (${c.reason})` : ''}`),
    `cache     ${r.cache}`,
    `cached    ${describeCache(r.cache_state)}`,
    `limiter   ${describeLimiter(r.limiter)}`,
    `local     ${r.local_users}`,
    `decision  ${r.decision.verdict}: ${r.decision.rule}(${r.decision.reason}) ${r.decision.outcome}${r.decision.detail ? ` - ${r.decision.detail}` : ''}`,
  ]
  if (r.identity)
    lines.push(`identity  ${r.identity}${r.user && r.user !== r.identity ? ` acting as ${r.user}` : ''}`)
  lines.push(`reply     ${r.reply.code} ${r.reply.enh} ${r.reply.text}`)
  return lines.join('\n') + '\n'
}
