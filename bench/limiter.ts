// npm run bench:limiter: what the AUTH limiter costs, on real Haraka in front of
// a throwaway slapd, in one run: the limiter off, on with the per-process memory
// store, and on with the Redis store (a throwaway redis-server), in the same rounds
// (see ROUNDS: the cost is a median of same-round ratios). Each AUTH is a
// fresh connection (EHLO, STARTTLS, EHLO, AUTH PLAIN), as an attacker's guesses
// and most mail clients' logins are. Prints AUTH/s, the AUTH command's p50/p99,
// and the Redis commands per AUTH as redis-server counts them (INFO commandstats:
// EVALSHA and EVAL are the store's batches, i.e. its round trips). Loopback only;
// bounded in count (BENCH_ATTEMPTS, default 12 800 per run). BENCH_PROFILE=<dir>: each
// Haraka runs with --cpu-prof writing <dir>/<run>.cpuprofile (read with
// node dist/bench/cpu_profile.js <file>). BENCH_BASE=<dir>: also the limiter-on runs of
// another checkout (built, with node_modules), e.g. the commit before a change, in the
// same rounds: a before/after on one machine at one time.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { SmtpClient } from '../demo/smtp_client'
import { closedLoop } from './haraka/load'
import { cpuMs } from './haraka/proc'
import { median, percentile, table } from './haraka/stats'
import { startHaraka, type HarakaInstance } from '../test/harness/haraka'
import { REPO } from '../test/harness/paths'
import { startRedis, type RedisServer } from '../test/harness/redis'
import { startSlapd } from '../test/harness/slapd'
import { ALICE, BOB, DEMO_LDIF } from '../test/harness/stack'

const ATTEMPTS = Number(process.env.BENCH_ATTEMPTS ?? 12_800)
/** AUTHs each fresh process serves before it is measured (its JIT warm) */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8)
const PROFILE = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : ''
/** the limiter's config file (issue 12 §1); without it every run is "off" */
const LIMITER = existsSync(path.join(REPO, 'config/auth_limits.ini'))

interface Run {
  label: string
  limiter: boolean
  store: 'memory' | 'redis'
  /** reach redis-server on its unix socket, not on loopback TCP */
  unix?: boolean
  /** the checkout Haraka runs from (default this one) */
  repo?: string
}

const BASE = process.env.BENCH_BASE ? path.resolve(process.env.BENCH_BASE) : ''

const RUNS: Run[] = [
  { label: 'limiter off', limiter: false, store: 'memory' },
  { label: 'limiter on, memory store', limiter: true, store: 'memory' },
  { label: 'limiter on, redis store', limiter: true, store: 'redis' },
  { label: 'limiter on, redis store on a unix socket', limiter: true, store: 'redis', unix: true },
  ...(BASE
    ? [
        { label: 'BENCH_BASE: limiter on, memory', limiter: true, store: 'memory', repo: BASE } as const,
        { label: 'BENCH_BASE: limiter on, redis', limiter: true, store: 'redis', repo: BASE } as const,
      ]
    : []),
]

async function redisCalls(redis: RedisServer): Promise<{ batches: number; all: number; cpu: number }> {
  const cpu = cpuMs(redis.pid)
  const info = await redis.command('INFO', 'commandstats')
  let batches = 0
  let all = 0
  for (const m of info.matchAll(/cmdstat_([a-z|_-]+):calls=(\d+)/g)) {
    const n = Number(m[2])
    if (m[1] === 'evalsha' || m[1] === 'eval') batches += n
    if (m[1] !== 'info') all += n
  }
  return { batches, all, cpu }
}

async function auth(h: HarakaInstance, user: string, pass: string): Promise<{ code: number; ms: number }> {
  const c = await SmtpClient.connect({
    host: h.host,
    port: h.ports.submission,
    ca: h.caCert,
    servername: 'mail.example.com',
  })
  try {
    await c.ehlo('bench.example.net')
    await c.starttls()
    await c.ehlo('bench.example.net')
    const t = process.hrtime.bigint()
    const r = await c.authPlain(user, pass)
    return { code: r.code, ms: Number(process.hrtime.bigint() - t) / 1e6 }
  } finally {
    c.close()
  }
}

/**
 * ROUNDS rounds (BENCH_ROUNDS, default 16). Each round starts every run's Haraka afresh (in a
 * rotating order), warms each, then runs SLICES short bursts per run, interleaved (the order
 * rotating): a machine busy with other work slows every run of a round alike, and a process
 * that happens to be slow (its JIT, its heap) weighs in one round, not all of them. The cost
 * of a run is the median over rounds of its AUTH/s against "limiter off" in the same round.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 16)
const SLICES = Number(process.env.BENCH_SLICES ?? 4)

interface Tally {
  ok: number
  attempts: number
  seconds: number
  times: number[]
  batches: number
  commands: number
  failBatches: number
  fails: number
  /** redis-server's CPU ms */
  redisCpu: number
  /** the Haraka process's CPU ms */
  harakaCpu: number
  /** AUTH/s of each round */
  rates: number[]
}

async function burst(h: HarakaInstance, n: number, t: Tally): Promise<number> {
  let left = n
  const seconds = await closedLoop(
    CONCURRENCY,
    () => left-- > 0,
    async () => {
      const r = await auth(h, ALICE.login, ALICE.password)
      if (r.code === 235) t.ok++
      t.times.push(r.ms)
    },
  )
  t.seconds += seconds
  t.attempts += n
  return seconds
}

function startRun(run: Run, index: number, slapdUrl: string, redis: RedisServer, round: number) {
  const files: Record<string, string> = {
    'ldap_auth.ini': '[main]\nfailure_delay=0\nmax_failures=50\n',
    'shared_state.ini': `[main]\nstore=${run.store}\nprefix=bench${index}:\n`,
    'redis.ini': run.unix
      ? `[server]\npath=${redis.socketPath}\n`
      : `[server]\nhost=127.0.0.1\nport=${redis.port}\n`,
  }
  if (LIMITER)
    files['auth_limits.ini'] = `[main]\nenabled=${run.limiter}\nsecret=bench-secret-of-sixteen-chars\n`
  const name = `${run.repo ? 'base-' : ''}${run.limiter ? `limiter-${run.store}${run.unix ? '-unix' : ''}` : 'limiter-off'}-round${round}`
  const cpuProfile = PROFILE ? { dir: PROFILE, name: `${name}.cpuprofile` } : undefined
  return startHaraka({ ldapUrl: slapdUrl, files, cpuProfile, repo: run.repo })
}

async function stopAll(instances: readonly (HarakaInstance | undefined)[]): Promise<void> {
  for (const h of instances) await h?.stop()
}

async function main(): Promise<void> {
  const slapd = await startSlapd({ ldif: [DEMO_LDIF] })
  const redis = await startRedis()
  const runs = RUNS.filter((r) => LIMITER || !r.limiter)
  const rows: string[][] = []
  const tallies = runs.map((): Tally => ({
    ok: 0,
    attempts: 0,
    seconds: 0,
    times: [],
    batches: 0,
    commands: 0,
    failBatches: 0,
    fails: 0,
    redisCpu: 0,
    harakaCpu: 0,
    rates: [],
  }))
  let instances: HarakaInstance[] = []
  try {
    const share = Math.max(CONCURRENCY, Math.ceil(ATTEMPTS / ROUNDS / SLICES))
    for (let round = 0; round < ROUNDS; round++) {
      const order = runs.map((_, k) => (round + k) % runs.length)
      // indexed like runs; started in the round's order, each stopped in `finally` should a later one fail
      instances = new Array<HarakaInstance>(runs.length)
      for (const i of order) instances[i] = await startRun(runs[i]!, i, slapd.url, redis, round)
      for (const h of instances) for (let n = 0; n < WARMUP; n++) await auth(h, ALICE.login, ALICE.password)
      const roundSeconds = runs.map(() => 0)
      for (let slice = 0; slice < SLICES; slice++) {
        for (let k = 0; k < runs.length; k++) {
          const i = order[(slice + k) % runs.length]!
          const before = await redisCalls(redis)
          const harakaBefore = cpuMs(instances[i]!.pid)
          roundSeconds[i]! += await burst(instances[i]!, share, tallies[i]!)
          tallies[i]!.harakaCpu += cpuMs(instances[i]!.pid) - harakaBefore
          const after = await redisCalls(redis)
          tallies[i]!.batches += after.batches - before.batches
          tallies[i]!.commands += after.all - before.all
          tallies[i]!.redisCpu += after.cpu - before.cpu
        }
      }
      for (const [i, s] of roundSeconds.entries()) tallies[i]!.rates.push((share * SLICES) / s)
      // Two failures each (distinct wrong passwords, under the limiter's delay), after the
      // measured bursts, whose successes they would slow: their round trips.
      if (round === ROUNDS - 1) {
        for (const [i, h] of instances.entries()) {
          for (let n = 0; n < 2; n++) {
            const before = await redisCalls(redis)
            await auth(h, BOB.login, `wrong-${n}`)
            tallies[i]!.failBatches += (await redisCalls(redis)).batches - before.batches
            tallies[i]!.fails++
          }
        }
      }
      await stopAll(instances)
      instances = []
    }
    const off = tallies[0]!
    for (const [i, run] of runs.entries()) {
      const t = tallies[i]!
      const per = (n: number, of: number) => (run.store === 'redis' ? (n / of).toFixed(2) : '-')
      // this run's AUTH/s over off's in the same round, one ratio per round
      const ratios = t.rates.map((r, k) => r / off.rates[k]!)
      const cost = (x: number) => `${((1 - x) * 100).toFixed(1)}`
      rows.push([
        run.label,
        `${t.ok}/${t.attempts}`,
        median(t.rates).toFixed(1),
        i === 0
          ? '-'
          : `${cost(median(ratios))} (${cost(Math.max(...ratios))} to ${cost(Math.min(...ratios))})`,
        percentile(t.times, 50).toFixed(1),
        percentile(t.times, 99).toFixed(1),
        per(t.batches, t.attempts),
        per(t.failBatches, t.fails),
        per(t.commands, t.attempts),
        run.store === 'redis' ? ((t.redisCpu * 1000) / t.attempts).toFixed(0) : '-',
        ((t.harakaCpu * 1000) / t.attempts).toFixed(0),
      ])
    }
  } finally {
    await stopAll(instances)
    await redis.dispose()
    await slapd.dispose()
  }

  const header = [
    'run',
    'ok',
    'AUTH/s (median of rounds)',
    '% fewer AUTH/s than off: median of rounds (range)',
    'AUTH p50 ms',
    'AUTH p99 ms',
    'round trips / AUTH ok',
    'round trips / AUTH fail',
    "Redis commands / AUTH ok (with the scripts' own)",
    'redis-server CPU µs / AUTH ok',
    'Haraka CPU µs / AUTH ok',
  ]
  console.log(
    `\nAUTH PLAIN over a fresh TLS connection each, ${CONCURRENCY} in parallel; ${ROUNDS} rounds, each with every run's Haraka started afresh (one process each) and ${SLICES} interleaved bursts per run; slapd and redis-server on loopback:\n`,
  )
  console.log(table(header, rows))
  if (!LIMITER)
    console.log('\n(no config/auth_limits.ini: the limiter is not in this tree, only the "off" run)')
  for (const r of rows.slice(1))
    console.log(`${r[0]}: ${r[3]} % fewer AUTH/s than off (median of ${ROUNDS} rounds)`)
  console.log('')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
