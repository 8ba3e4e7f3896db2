// The CLI's way into running Haraka processes: each one's admin socket in
// auth_relay.ini's admin_socket_dir (haraka/admin_socket, lib/admin/socket).
// Every process with a socket is asked; each command merges the answers.
import path from 'node:path'
import { adminSocketDir } from '../../haraka/admin_socket'
import { askAll, type AdminRequest, type ProcessAnswer } from '../../lib/admin/socket'
import { NO_ADMIN_SOCKET } from '../../lib/containment/config'
import { AUTH_RELAY_INI } from '../../lib/relay/config'
import { instanceDir, loadIni, UsageError } from './common'

export interface ProcessReport {
  pid: number
  answered: boolean
  problem?: string
}

/** The socket folder of the config in `dir`, as auth_relay resolves it (relative: to the Haraka folder). */
export function socketDirOf(dir: string): string {
  const cfg = loadIni(dir, AUTH_RELAY_INI)
  if (cfg.admin_socket_dir === NO_ADMIN_SOCKET)
    throw new UsageError(
      `admin_socket_dir=none in ${path.join(dir, 'auth_relay.ini')}: this command reaches Haraka only through its admin socket`,
    )
  return adminSocketDir(cfg.admin_socket_dir, instanceDir(dir))
}

/** Ask every Haraka process; the answers of those that answered, and a report of each. */
export async function askHaraka(
  dir: string,
  request: AdminRequest,
): Promise<{ results: unknown[]; processes: ProcessReport[] }> {
  const socketDir = socketDirOf(dir)
  const answers: ProcessAnswer[] = await askAll(socketDir, request)
  if (!answers.length)
    throw new UsageError(`no Haraka process serves an admin socket in ${socketDir} (is Haraka running?)`)
  const processes: ProcessReport[] = answers.map((a) => {
    if ('unreachable' in a) return { pid: a.pid, answered: false, problem: `unreachable (${a.unreachable})` }
    if (!a.response.ok) return { pid: a.pid, answered: false, problem: a.response.error }
    return { pid: a.pid, answered: true }
  })
  const results = answers.flatMap((a) => ('response' in a && a.response.ok ? [a.response.result] : []))
  if (!results.length) {
    const problems = [...new Set(processes.map((p) => p.problem))].join('; ')
    throw new UsageError(`no Haraka process answered in ${socketDir}: ${problems}`)
  }
  return { results, processes }
}

export function renderProcesses(processes: ProcessReport[]): string {
  const answered = processes.filter((p) => p.answered).length
  const lines = [
    `(${answered} of ${processes.length} Haraka process${processes.length === 1 ? '' : 'es'} answered)`,
  ]
  for (const p of processes) if (!p.answered) lines.push(`  pid ${p.pid}: ${p.problem}`)
  return lines.join('\n')
}
