// What the kernel knows about a process: CPU time, resident memory, TCP connections.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

let ticks = 0
function clockTicks(): number {
  if (!ticks) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticks = 100
    }
  }
  return ticks
}

/** utime + stime of pid in milliseconds (/proc/<pid>/stat fields 14 and 15). */
export function cpuMs(pid: number): number {
  const { user, system } = cpuSplitMs(pid)
  return user + system
}

/** utime and stime (the kernel's share: syscalls, loopback TCP) of pid in milliseconds. */
export function cpuSplitMs(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // the command name (field 2) may hold spaces: count fields after its closing paren
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ms = (field: string | undefined) => (Number(field) * 1000) / clockTicks()
  return { user: ms(fields[11]), system: ms(fields[12]) }
}

/** VmRSS and VmHWM (peak) of pid in MB. */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN)
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 }
}

/** Established TCP connections that pid holds to 127.0.0.1:port (`ss -tnp`). */
export function connectionsTo(pid: number, port: number): number {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${port} )`], {
    encoding: 'utf8',
  })
  return out.split('\n').filter((line) => line.includes(`pid=${pid},`)).length
}
