// `haraka-ldap test <login>`: one AUTH attempt through the pipeline ldap_auth runs
// (createAuthenticator over the same config/), with every directory operation it
// made (lib/ldap through ./trace), each account-state check's verdict, the cache,
// and the decision and reply the client would get. Nothing is counted anywhere;
// the bind is real, so a wrong password is a failed bind the directory may count
// (ppolicy's pwdMaxFailure, AD's lockout threshold).
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
import { EXIT, loadIni, readPassword, UsageError, type Io } from './common'
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
  local_users: string
  decision: { verdict: 'pass' | 'fail'; outcome: string; rule: string; reason: string; detail?: string }
  identity?: string
  user?: string
  reply: { code: number; enh: string; text: string }
}

export async function testLogin(
  io: Io,
  dir: string,
  login: string,
  opts: { authzid?: string },
): Promise<{ report: TestReport; code: number }> {
  const dirCfg = loadIni(dir, LDAP_DIRECTORY_INI)
  const auth = loadIni(dir, LDAP_AUTH_INI)
  const localUsers = auth.local_users !== 'off' ? loadIni(dir, AUTH_ENC_FILE_INI) : undefined
  const password = await readPassword(io)
  if (!password) throw new UsageError('empty password (ldap_auth refuses it before any bind)')
  if (hasControlCharacters(password))
    throw new UsageError('the password holds a control character, which SMTP AUTH refuses (501 5.5.2)')

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
      mode: dirCfg.mode,
      servers,
      server: ranOnDirectory ? (servers.find((s) => s.up)?.url ?? null) : null,
      server_events: events,
      steps: trace.steps,
      account_checks: boundOk(trace.steps) ? accountChecks(trace, auth) : [],
      cache: cacheState(auth),
      local_users:
        auth.local_users === 'off' ? 'off' : `${auth.local_users} (${localUsers?.size ?? 0} listed)`,
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
  return `on (cache_ttl=${auth.cache_ttl} s, negative_cache_ttl=${auth.negative_cache_ttl} s); this run used an empty cache: each Haraka process keeps its own in memory, out of this command's reach`
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
    `directory ${r.servers.map((s) => `${s.url} (${s.up ? 'up' : 'down'})`).join(', ')} mode=${r.mode}`,
    `server    ${r.server ?? '(no directory operation answered)'}`,
    ...r.server_events.map((e) => `event     ${e.url} marked ${e.up ? 'up' : 'down'}: ${e.reason}`),
    ...r.steps.map(describeStep),
    ...r.account_checks.map((c) => `check     ${c.check}: ${c.verdict}${c.reason ? ` (${c.reason})` : ''}`),
    `cache     ${r.cache}`,
    `local     ${r.local_users}`,
    `decision  ${r.decision.verdict}: ${r.decision.rule}(${r.decision.reason}) ${r.decision.outcome}${r.decision.detail ? ` - ${r.decision.detail}` : ''}`,
  ]
  if (r.identity)
    lines.push(`identity  ${r.identity}${r.user && r.user !== r.identity ? ` acting as ${r.user}` : ''}`)
  lines.push(`reply     ${r.reply.code} ${r.reply.enh} ${r.reply.text}`)
  return lines.join('\n') + '\n'
}
