// npm run bench:haraka — SMTP sessions through real Haraka processes on loopback:
// STARTTLS + AUTH PLAIN per session (optionally a relayed 1 KB message), closed loop
// at each concurrency for a fixed time after a warm-up, rounds interleaved between
// targets. Haraka + auth/flat_file (same users, no directory) is the ceiling; our
// three plugins run against a throwaway slapd with 10 000 users. One table.
// BENCH_SOAK=100000 instead runs one target for that many sessions and prints RSS.
// Parameters: env BENCH_* or --flags (see README "Benchmarks").
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { startHaraka, type HarakaInstance } from '../test/harness/haraka'
import { REPO } from '../test/harness/paths'
import { startSlapd, type Slapd } from '../test/harness/slapd'
import { benchLdif, benchUsers, type BenchUser } from './haraka/directory'
import { runLoad, type LoadResult, type SessionPlan } from './haraka/load'
import { connectionsTo, cpuMs, cpuSplitMs, memoryMb } from './haraka/proc'
import { fixed, median, percentile, table } from './haraka/stats'
import { defaultTargets, type Target } from './haraka/targets'

for (const arg of process.argv.slice(2)) {
  const m = /^--([a-z_-]+)=(.*)$/.exec(arg)
  if (!m) throw new Error(`unknown argument ${arg} (use --name=value, e.g. --seconds=5)`)
  process.env[`BENCH_${m[1]!.replace(/-/g, '_').toUpperCase()}`] = m[2]
}
const env = (key: string, fallback: string) => process.env[`BENCH_${key}`] ?? fallback
const num = (key: string, fallback: number) => {
  const v = Number(env(key, String(fallback)))
  if (!Number.isFinite(v)) throw new Error(`BENCH_${key} must be a number`)
  return v
}
const list = (key: string, fallback: string) =>
  env(key, fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

const P = {
  node: env('NODE', process.execPath),
  users: num('USERS', 10_000),
  active: num('ACTIVE', 300),
  concurrency: list('C', '16,64').map(Number),
  modes: list('MODES', 'auth,msg') as ('auth' | 'msg')[],
  seconds: num('SECONDS', 5),
  warmup: num('WARMUP', 2),
  prewarm: num('PREWARM', 3),
  rounds: num('ROUNDS', 3),
  messageBytes: num('MESSAGE_BYTES', 1024),
  targets: list('TARGETS', ''),
  base: env('BASE', ''),
  soak: num('SOAK', 0),
  soakTarget: env('SOAK_TARGET', 'ours'),
  soakConcurrency: num('SOAK_C', 16),
  profile: env('PROFILE', ''),
  logLevel: env('LOG_LEVEL', 'info'),
}

interface Running {
  target: Target
  haraka: HarakaInstance
  /** sessions this instance served so far, warm-ups included (to divide a --profile by) */
  served: number
}

interface Sample {
  load: LoadResult
  rate: number
  cpuPerSession: number
  /** of it, kernel time (stime) */
  sysPerSession: number
  slapdPerSession: number
  peakMb: number
  ldapSockets: number
}

interface Plans {
  plan(n: number): SessionPlan
  probe(n: number): SessionPlan
}

/** Valid logins cycle through the first `active` members; the prober alternates wrong passwords and non-members. */
function planner(users: readonly BenchUser[]): Plans {
  const members = users.filter((u) => u.member).slice(0, P.active)
  const outsiders = users.filter((u) => !u.member)
  return {
    plan(n) {
      const u = members[n % members.length]!
      return { kind: 'valid', login: u.login, password: u.password }
    },
    probe(n) {
      const k = n >> 1
      if (n % 2 === 0) {
        const u = members[k % members.length]!
        return { kind: 'wrong_password', login: u.login, password: `${u.password}-wrong` }
      }
      const u = outsiders[k % outsiders.length]!
      return { kind: 'non_member', login: u.login, password: u.password }
    },
  }
}

async function start(target: Target, slapd: Slapd): Promise<Running> {
  const haraka = await startHaraka({
    ldapUrl: slapd.url,
    repo: target.repo,
    node: P.node,
    cpuProfile: P.profile ? { dir: P.profile, name: `${target.name}.cpuprofile` } : undefined,
    captureLogs: false,
    env: target.env,
    ini: { 'log.ini': { main: { level: P.logLevel } }, ...target.ini },
    files: { plugins: `${target.plugins.join('\n')}\n`, ...target.files },
  })
  return { target, haraka, served: 0 }
}

async function load(r: Running, c: number, plan: Plans, msg: boolean, seconds: number, max?: number) {
  const result = await runLoad({
    host: r.haraka.host,
    port: r.haraka.ports.submission,
    ca: r.haraka.caCert,
    servername: 'mail.example.com',
    concurrency: c,
    durationMs: seconds * 1000,
    maxSessions: max,
    plan: plan.plan,
    probe: plan.probe,
    messageBytes: msg ? P.messageBytes : 0,
  })
  r.served += result.sessions
  return result
}

async function measure(r: Running, slapd: Slapd, c: number, plan: Plans, msg: boolean) {
  await load(r, c, plan, msg, P.warmup)
  // the credential cache is warm only once every active login has been seen
  await load(r, c, plan, msg, 3600, P.active)
  const cpu0 = cpuSplitMs(r.haraka.pid)
  const slapd0 = cpuMs(slapd.pid)
  const result = await load(r, c, plan, msg, P.seconds)
  const cpu1 = cpuSplitMs(r.haraka.pid)
  const cpu = cpu1.user + cpu1.system - cpu0.user - cpu0.system
  const slapdCpu = cpuMs(slapd.pid) - slapd0
  await sleep(1000)
  const sample: Sample = {
    load: result,
    rate: result.sessions / result.seconds,
    cpuPerSession: cpu / result.sessions,
    sysPerSession: (cpu1.system - cpu0.system) / result.sessions,
    slapdPerSession: r.target.ldap ? slapdCpu / result.sessions : NaN,
    peakMb: memoryMb(r.haraka.pid).peak,
    ldapSockets: r.target.ldap ? connectionsTo(r.haraka.pid, slapd.port) : NaN,
  }
  return sample
}

function versionOf(node: string): string {
  return execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()
}

async function soak(slapd: Slapd, targets: Target[], plan: Plans): Promise<void> {
  const target = targets.find((t) => t.name === P.soakTarget)
  if (!target) throw new Error(`no target ${P.soakTarget}`)
  const r = await start(target, slapd)
  try {
    await load(r, P.soakConcurrency, plan, false, P.warmup, 1000)
    const marks: string[][] = []
    const mark = (done: number) => {
      const m = memoryMb(r.haraka.pid)
      marks.push([
        String(done),
        fixed(m.rss, 1),
        fixed(m.peak, 1),
        String(connectionsTo(r.haraka.pid, slapd.port)),
      ])
    }
    mark(0)
    const step = 10_000
    const t0 = performance.now()
    const result = await runLoad({
      host: r.haraka.host,
      port: r.haraka.ports.submission,
      ca: r.haraka.caCert,
      servername: 'mail.example.com',
      concurrency: P.soakConcurrency,
      durationMs: Infinity,
      maxSessions: P.soak,
      plan: plan.plan,
      probe: plan.probe,
      messageBytes: 0,
      onSession: (done) => {
        if (done % step === 0 && done < P.soak) mark(done)
      },
    })
    r.served += result.sessions
    mark(result.sessions)
    const seconds = (performance.now() - t0) / 1000
    console.log(
      `\nsoak: ${target.name}, ${result.sessions} sessions (STARTTLS + AUTH PLAIN) at C=${P.soakConcurrency} in ${seconds.toFixed(0)} s, Haraka on ${versionOf(P.node)}\n`,
    )
    console.log(table(['sessions', 'RSS MB', 'peak RSS MB', 'LDAP sockets'], marks))
    const at10k = Number(marks.find((m) => m[0] === String(step))?.[1])
    const end = Number(marks.at(-1)![1])
    console.log(
      `\nRSS end vs 10k: ${fixed(((end - at10k) / at10k) * 100, 1)} %; valid rejected ${result.validRejected}, wrong accepted ${result.wrongAccepted}, non-members accepted ${result.nonMemberAccepted}, errors ${result.errors}${result.firstError ? ` (first: ${result.firstError})` : ''}\n`,
    )
  } finally {
    await stopHaraka(r)
  }
}

/** With --profile, stop() has Haraka write its profile; this says how many sessions it holds. */
async function stopHaraka(r: Running): Promise<void> {
  await r.haraka.stop()
  if (P.profile) {
    console.log(
      `profile: ${r.target.name} served ${r.served} sessions (node dist/bench/cpu_profile.js ${path.join(P.profile, `${r.target.name}.cpuprofile`)} 40 ${r.served})`,
    )
  }
}

async function main(): Promise<void> {
  const users = benchUsers(P.users)
  const work = mkdtempSync(path.join(tmpdir(), 'bench-haraka-'))
  const ldif = path.join(work, 'users.ldif')
  writeFileSync(ldif, benchLdif(users))
  const slapd = await startSlapd({ ldif: [ldif] })
  rmSync(work, { recursive: true, force: true })
  const plan = planner(users)
  let targets = defaultTargets({ repo: REPO, base: P.base || undefined, users })
  targets = targets.filter((t) => (P.targets.length ? P.targets.includes(t.name) : !t.optional))
  try {
    if (P.soak > 0) return await soak(slapd, targets, plan)
    const running: Running[] = []
    try {
      for (const t of targets) running.push(await start(t, slapd))
      // one untimed pass per target and mode first: JIT, pools and caches as in steady state
      for (const r of running)
        for (const mode of P.modes) await load(r, Math.max(...P.concurrency), plan, mode === 'msg', P.prewarm)
      const samples = new Map<string, Sample[]>()
      const key = (t: string, mode: string, c: number) => `${t}|${mode}|${c}`
      for (let round = 0; round < P.rounds; round++) {
        for (const mode of P.modes)
          for (const c of P.concurrency)
            for (let i = 0; i < running.length; i++) {
              // rotate the order each round so drift and noise hit every target alike
              const r = running[(i + round) % running.length]!
              const s = await measure(r, slapd, c, plan, mode === 'msg')
              const k = key(r.target.name, mode, c)
              samples.set(k, [...(samples.get(k) ?? []), s])
              process.stderr.write(
                `round ${round + 1}/${P.rounds} ${mode} C=${c} ${r.target.name}: ${s.rate.toFixed(0)}/s, ${s.cpuPerSession.toFixed(2)} ms CPU/session (${s.sysPerSession.toFixed(2)} kernel)\n`,
              )
            }
      }
      report(samples, key, targets)
    } finally {
      for (const r of running) await stopHaraka(r)
    }
  } finally {
    await slapd.dispose()
  }
}

function report(
  samples: Map<string, Sample[]>,
  key: (t: string, m: string, c: number) => string,
  targets: Target[],
) {
  const rows: string[][] = []
  for (const mode of P.modes)
    for (const c of P.concurrency) {
      const ceiling = samples.get(key('flat_file', mode, c))
      const ceilingRate = ceiling ? median(ceiling.map((s) => s.rate)) : NaN
      const ceilingP99 = ceiling
        ? percentile(
            ceiling.flatMap((s) => s.load.authMs),
            99,
          )
        : NaN
      for (const t of targets) {
        const ss = samples.get(key(t.name, mode, c))
        if (!ss) continue
        const rates = ss.map((s) => s.rate)
        const lat = ss.flatMap((s) => s.load.authMs)
        const sum = (f: (l: LoadResult) => number) => ss.reduce((a, s) => a + f(s.load), 0)
        const cpu = cpuOf(ss)
        const slapdCpu = cpuOf(ss, (s) => s.slapdPerSession)
        const cpuCeiling = samples.get(key(t.cpuCeiling ?? 'flat_file', mode, c)) ?? ceiling
        const ceilingCpu = cpuCeiling ? cpuOf(cpuCeiling) : NaN
        const p99 = percentile(lat, 99)
        const isCeiling = t.name === 'flat_file'
        rows.push([
          t.name,
          mode === 'msg' ? `AUTH+${P.messageBytes} B msg` : 'AUTH',
          String(c),
          `${fixed(median(rates), 0)} (${fixed(Math.min(...rates), 0)}–${fixed(Math.max(...rates), 0)})`,
          isCeiling ? '1.00' : fixed(median(rates) / ceilingRate, 2),
          `${fixed(percentile(lat, 50), 1)} / ${fixed(percentile(lat, 95), 1)} / ${fixed(p99, 1)}`,
          isCeiling ? '' : fixed(p99 - ceilingP99, 1),
          fixed(cpu, 2),
          fixed(
            cpuOf(ss, (s) => s.sysPerSession),
            2,
          ),
          isCeiling ? '' : fixed(cpu - ceilingCpu, 2),
          t.ldap ? fixed(slapdCpu, 2) : '',
          fixed(Math.max(...ss.map((s) => s.peakMb)), 0),
          String(sum((l) => l.validRejected)),
          String(sum((l) => l.wrongAccepted)),
          t.groupCheck ? String(sum((l) => l.nonMemberAccepted)) : 'n/a',
          mode === 'msg' ? String(sum((l) => l.messagesRefused)) : '',
          String(sum((l) => l.errors)),
          t.ldap ? String(Math.max(...ss.map((s) => s.ldapSockets))) : '',
        ])
      }
    }
  const firstError = [...samples.values()].flat().find((s) => s.load.firstError)?.load.firstError
  console.log(
    `\nHaraka ${versionOf(P.node)} (nodes=0, one process), load client ${process.version}, ${P.users} users, ${P.active} active logins, C workers + 1 prober sending refused logins (wrong password / not in the group, 1 s failure delay), ${P.rounds} rounds × ${P.seconds} s after ${P.warmup} s warm-up, log level ${P.logLevel}\n`,
  )
  console.log(
    table(
      [
        'target',
        'session',
        'C',
        'sessions/s median (range)',
        '× flat',
        'AUTH p50 / p95 / p99 ms',
        'p99 − flat',
        'CPU ms/session',
        'of it kernel',
        'CPU − flat*',
        'slapd ms/session',
        'peak RSS MB',
        'valid rejected',
        'wrong accepted',
        'non-member accepted',
        'msgs refused',
        'errors',
        'LDAP sockets after',
      ],
      rows,
    ),
  )
  console.log(
    '\n* CPU − flat: minus the flat_file target with the same TLS setup (ours and base with tls_context: flat_file+tls_context), i.e. what the AUTH, relay and stamp plugins add; × flat and p99 − flat compare with stock flat_file',
  )
  if (firstError) console.log(`\nfirst error: ${firstError}`)
  console.log('')
}

/** CPU per session over all rounds (total CPU / total sessions): Haraka's, or what `of` picks (its kernel share, slapd's). */
function cpuOf(ss: Sample[], of: (s: Sample) => number = (s) => s.cpuPerSession): number {
  const sessions = ss.reduce((a, s) => a + s.load.sessions, 0)
  return ss.reduce((a, s) => a + of(s) * s.load.sessions, 0) / sessions
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
