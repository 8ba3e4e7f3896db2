// `haraka-ldap suspended list | release <login>` and `haraka-ldap suspend <login>`:
// the operator's containment commands. They reach the state the plugins use
// through each running Haraka process's admin socket (auth_relay.ini
// admin_socket_dir, lib/admin/socket): with the per-process memory store that
// is the only way in, and with a store shared through Redis any one process
// answers for all. Every process with a socket is asked; answers are merged.
import type { ReleaseResult, SuspendResult } from '../../lib/containment/operator'
import type { Suspension } from '../../lib/containment/suspension'
import { askHaraka, renderProcesses, type ProcessReport } from './admin'
import { EXIT, table } from './common'

export interface ListReport {
  suspended: Suspension[]
  processes: ProcessReport[]
}

export async function listSuspendedCommand(dir: string): Promise<{ report: ListReport; code: number }> {
  const { results, processes } = await askHaraka(dir, { command: 'suspended.list' })
  const byLogin = new Map<string, Suspension>()
  for (const r of results) {
    for (const s of (r as { suspended?: Suspension[] }).suspended ?? []) {
      const known = byLogin.get(s.login)
      if (!known || s.since < known.since) byLogin.set(s.login, s)
    }
  }
  const suspended = [...byLogin.values()].sort((a, b) => a.since - b.since)
  return { report: { suspended, processes }, code: EXIT.OK }
}

export interface ReleaseReport {
  login: string
  /** a suspension or a deferral was lifted (on some process) */
  released: boolean
  suspension: Suspension | null
  deferred: boolean
  processes: ProcessReport[]
}

export async function releaseCommand(
  dir: string,
  login: string,
): Promise<{ report: ReleaseReport; code: number }> {
  const { results, processes } = await askHaraka(dir, { command: 'suspended.release', args: { login } })
  const answers = results as ReleaseResult[]
  const suspension = answers.find((r) => r.released)?.released ?? null
  const deferred = answers.some((r) => r.deferred)
  const released = Boolean(suspension) || deferred
  const report = { login: answers[0]!.login, released, suspension, deferred, processes }
  return { report, code: released ? EXIT.OK : EXIT.REFUSED }
}

export interface SuspendReport {
  suspension: Suspension
  already: boolean
  processes: ProcessReport[]
}

export async function suspendCommand(
  dir: string,
  login: string,
  reason: string | undefined,
): Promise<{ report: SuspendReport; code: number }> {
  const { results, processes } = await askHaraka(dir, { command: 'suspend', args: { login, reason } })
  const answers = results as SuspendResult[]
  const report = { suspension: answers[0]!.suspension, already: answers.some((r) => r.already), processes }
  return { report, code: EXIT.OK }
}

const when = (ms: number) => (ms ? new Date(ms).toISOString() : 'unknown')

export function renderList(r: ListReport): string {
  const rows = r.suspended.map((s) => [s.login, when(s.since), s.rule, s.reason])
  const body = rows.length ? table(['login', 'since', 'rule', 'reason'], rows) : 'no login is suspended'
  return `${body}\n${renderProcesses(r.processes)}\n`
}

export function renderRelease(r: ReleaseReport): string {
  const what = r.suspension
    ? `${r.login} released: suspended since ${when(r.suspension.since)} by ${r.suspension.rule}: ${r.suspension.reason}`
    : r.deferred
      ? `${r.login} released: its deferral is lifted`
      : `${r.login} was neither suspended nor deferred`
  const counts = r.released ? '\nits containment counts start again from zero' : ''
  return `${what}${counts}\n${renderProcesses(r.processes)}\n`
}

export function renderSuspend(r: SuspendReport): string {
  const s = r.suspension
  const again = r.already ? ' (it was suspended already: the record is replaced)' : ''
  return `${s.login} suspended${again}: ${s.reason}\nrelease with: haraka-ldap suspended release ${s.login}\n${renderProcesses(r.processes)}\n`
}
