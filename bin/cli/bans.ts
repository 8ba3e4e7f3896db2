// `haraka-ldap bans list | release <target>`, `limits show <target>` and
// `cache flush [login]`: the operator's commands on ldap_auth's AUTH limiter and
// credential cache. Like `suspended`, they reach the running Haraka through
// each process's admin socket (./admin askHaraka): with the per-process
// memory store each worker answers for its own state, with a shared store any
// one answers for all; answers are merged (bans by key, counts by their largest).
import type { ReleaseBansResult, BanInfo, LimitsShow } from '../../lib/limiter/admin'
import { parseTarget } from '../../lib/limiter/admin'
import { AUTH_LIMITS_INI } from '../../lib/limiter/config'
import type { ContainmentShow } from '../../lib/containment/operator'
import { EXIT, loadIni, table, UsageError } from './common'
import { askHaraka, renderProcesses, type ProcessReport } from './admin'

export interface BansReport {
  enabled: boolean
  bans: BanInfo[]
  processes: ProcessReport[]
}

/** The same ban from several processes (a shared store) is one; a per-process one is listed once with its latest end. */
function mergeBans(lists: BanInfo[][]): BanInfo[] {
  const byKey = new Map<string, BanInfo>()
  for (const list of lists)
    for (const b of list) {
      const known = byKey.get(b.key)
      if (!known || b.until > known.until) byKey.set(b.key, b)
    }
  return [...byKey.values()].sort((a, b) => a.until - b.until || a.key.localeCompare(b.key))
}

export async function listBansCommand(dir: string): Promise<{ report: BansReport; code: number }> {
  const { results, processes } = await askHaraka(dir, { command: 'bans.list' })
  const answers = results as Array<{ enabled: boolean; bans: BanInfo[] }>
  const report = {
    enabled: answers.some((a) => a.enabled),
    bans: mergeBans(answers.map((a) => a.bans ?? [])),
    processes,
  }
  return { report, code: EXIT.OK }
}

export interface ReleaseBansReport {
  target: string
  released: BanInfo[]
  still: BanInfo[]
  login_failures_cleared?: boolean
  processes: ProcessReport[]
}

export async function releaseBansCommand(
  dir: string,
  target: string,
): Promise<{ report: ReleaseBansReport; code: number }> {
  const { results, processes } = await askHaraka(dir, { command: 'bans.release', args: { target } })
  const answers = results as ReleaseBansResult[]
  const released = mergeBans(answers.map((a) => a.released))
  const still = mergeBans(answers.map((a) => a.still))
  const cleared = answers.some((a) => a.login_failures_cleared)
  const report: ReleaseBansReport = {
    target: answers[0]!.target,
    released,
    still,
    ...(cleared ? { login_failures_cleared: true } : {}),
    processes,
  }
  return { report, code: released.length || cleared ? EXIT.OK : EXIT.REFUSED }
}

export interface LimitsReport extends Omit<LimitsShow, 'counts'> {
  counts: LimitsShow['counts']
  containment?: ContainmentShow | { unavailable: string }
  processes: ProcessReport[]
}

export async function showLimitsCommand(
  dir: string,
  target: string,
): Promise<{ report: LimitsReport; code: number }> {
  // Parsed here as Haraka parses it, to know whether it is a login (containment counts logins).
  let parsed
  try {
    parsed = parseTarget(loadIni(dir, AUTH_LIMITS_INI), target)
  } catch (err) {
    if (err instanceof UsageError) throw err
    throw new UsageError((err as Error).message)
  }
  const { results, processes } = await askHaraka(dir, { command: 'limits.show', args: { target } })
  const answers = results as LimitsShow[]
  const counts: LimitsShow['counts'] = {}
  // Per-process stores: each process judges by its own counts, so the largest is the nearest to a ban.
  for (const a of answers)
    for (const [k, v] of Object.entries(a.counts))
      if (!counts[k] || v.failures > counts[k].failures) counts[k] = v
  const first = answers[0]!
  const report: LimitsReport = {
    target: first.target,
    window_s: first.window_s,
    counts,
    ...(first.familiar_sources !== undefined
      ? { familiar_sources: Math.max(...answers.map((a) => a.familiar_sources ?? 0)) }
      : {}),
    bans: mergeBans(answers.map((a) => a.bans)),
    ...(first.exempt !== undefined ? { exempt: first.exempt } : {}),
    processes,
  }
  if (parsed.kind === 'login') report.containment = await containmentOf(dir, target)
  return { report, code: EXIT.OK }
}

/** auth_relay's answer for the login (the largest count of each budget); a Haraka without auth_relay says so. */
async function containmentOf(dir: string, login: string): Promise<ContainmentShow | { unavailable: string }> {
  try {
    const { results } = await askHaraka(dir, { command: 'contain.show', args: { login } })
    const answers = results as ContainmentShow[]
    const first = answers[0]!
    return {
      ...first,
      budgets: first.budgets.map((b) => ({
        ...b,
        count: Math.max(...answers.map((a) => a.budgets.find((x) => x.budget === b.budget)?.count ?? 0)),
      })),
      suspension: answers.find((a) => a.suspension)?.suspension ?? null,
      deferral: answers.find((a) => a.deferral)?.deferral ?? null,
    }
  } catch (err) {
    return { unavailable: (err as Error).message }
  }
}

export interface FlushReport {
  login: string | null
  removed: { positive: number; negative: number }
  processes: ProcessReport[]
}

export async function flushCacheCommand(
  dir: string,
  login: string | undefined,
): Promise<{ report: FlushReport; code: number }> {
  const { results, processes } = await askHaraka(dir, {
    command: 'cache.flush',
    args: login === undefined ? {} : { login },
  })
  const answers = results as Array<{ login: string | null; removed: { positive: number; negative: number } }>
  const removed = { positive: 0, negative: 0 }
  for (const a of answers) {
    removed.positive += a.removed.positive
    removed.negative += a.removed.negative
  }
  const report = { login: answers[0]!.login, removed, processes }
  return { report, code: removed.positive + removed.negative ? EXIT.OK : EXIT.REFUSED }
}

const when = (ms: number) => new Date(ms).toISOString()

function banRows(bans: readonly BanInfo[]): string {
  const rows = bans.map((b) => [
    b.kind,
    b.login ? `${b.net} ${b.login}` : b.net,
    when(b.until),
    String(b.strikes),
    b.key,
  ])
  return table(['kind', 'what', 'until', 'ban', 'key'], rows)
}

export function renderBans(r: BansReport): string {
  const off = r.enabled ? '' : 'the limiter is off (auth_limits.ini enabled=false)\n'
  const body = r.bans.length ? banRows(r.bans) : 'no ban is in force'
  return `${off}${body}\n${renderProcesses(r.processes)}\n`
}

export function renderReleaseBans(r: ReleaseBansReport): string {
  const lines: string[] = []
  if (r.released.length)
    lines.push(
      `${r.target}: released ${r.released.length} ban(s), their failures and strikes:`,
      banRows(r.released),
    )
  else lines.push(`${r.target}: no ban was in force`)
  if (r.login_failures_cleared)
    lines.push(`${r.target}: its failures are forgiven (its unfamiliar sources are no longer refused)`)
  for (const b of r.still)
    lines.push(`still banned: subnet ${b.net} until ${when(b.until)} (haraka-ldap bans release ${b.net})`)
  return `${lines.join('\n')}\n${renderProcesses(r.processes)}\n`
}

export function renderLimits(r: LimitsReport): string {
  const lines = [`${r.target} (window ${r.window_s} s)`]
  for (const [k, v] of Object.entries(r.counts))
    lines.push(
      `  ${k}: ${v.failures} distinct failure(s)${v.budget ? `, budget ${v.budget}` : ', no budget'}`,
    )
  if (r.familiar_sources !== undefined) lines.push(`  familiar sources: ${r.familiar_sources}`)
  if (r.exempt) lines.push('  exempt (exempt_networks): never delayed, banned or refused')
  lines.push(r.bans.length ? banRows(r.bans) : '  no ban in force')
  const c = r.containment
  if (c && 'unavailable' in c) lines.push(`containment: unknown (${c.unavailable})`)
  else if (c) {
    lines.push(`containment (${c.mode}):`)
    for (const b of c.budgets) lines.push(`  ${b.budget}: ${b.count} of ${b.limit} in ${b.window}`)
    if (c.suspension)
      lines.push(
        `  suspended since ${when(c.suspension.since)} by ${c.suspension.rule}: ${c.suspension.reason}`,
      )
    if (c.deferral)
      lines.push(`  deferred until ${when(c.deferral.until)} by ${c.deferral.rule}: ${c.deferral.reason}`)
    if (!c.suspension && !c.deferral) lines.push('  neither suspended nor deferred')
  }
  return `${lines.join('\n')}\n${renderProcesses(r.processes)}\n`
}

export function renderFlush(r: FlushReport): string {
  const n = r.removed.positive + r.removed.negative
  const who = r.login === null ? 'every login' : r.login
  return `cache flush (${who}): ${n} entr${n === 1 ? 'y' : 'ies'} removed (${r.removed.positive} accepted, ${r.removed.negative} refused)\n${renderProcesses(r.processes)}\n`
}
