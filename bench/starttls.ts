// npm run bench:starttls: bare STARTTLS sessions per second through a real Haraka,
// stock (plugins: tls) against tls_context (plugins: tls, tls_context), both running
// at once on loopback, measured in interleaved rounds. A session is connect, EHLO,
// STARTTLS, handshake, EHLO, QUIT. Closed loop: C clients each start the next
// session when the last one ends. Server CPU comes from /proc/<pid>/stat of each
// Haraka (nodes=0: the listener is that process). The runtime is the one running
// this script (Haraka is started with process.execPath): run it under Node 24
// (npm run bench:starttls) and under the machine's node for a second column.
// Both instances log at notice (not the repo's info) so log volume does not blur it.
//
//   BENCH_SECONDS (5) per round, BENCH_ROUNDS (5), BENCH_WARMUP (2 s), BENCH_C (16),
//   BENCH_PROF_DIR: start each Haraka with --cpu-prof writing <dir>/<stock|tls_context>.cpuprofile at exit
import net from 'node:net'
import tls from 'node:tls'
import { startHaraka, type HarakaInstance } from '../test/harness/haraka'
import { replies } from '../test/harness/starttls'
import { closedLoop } from './haraka/load'
import { cpuMs } from './haraka/proc'
import { median, table } from './haraka/stats'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2)
const C = Number(process.env.BENCH_C ?? 16)
const PROF_DIR = process.env.BENCH_PROF_DIR ?? ''

interface Variant {
  label: string
  /** its profile's file name */
  name: string
  plugins: string
  haraka?: HarakaInstance
  rates: number[]
  cpuMs: number[]
  errors: number
}

// One client context for every session: the client's own per-connection context
// would cost as much as the server's and blur the comparison.
const clientContext = tls.createSecureContext({})

async function session(port: number): Promise<void> {
  const plain = net.connect({ port, host: '127.0.0.1' })
  try {
    await new Promise<void>((resolve, reject) => plain.once('connect', resolve).once('error', reject))
    let next = replies(plain)
    if ((await next()) !== 220) throw new Error('banner')
    plain.write('EHLO bench.example\r\n')
    if ((await next()) !== 250) throw new Error('EHLO')
    plain.write('STARTTLS\r\n')
    if ((await next()) !== 220) throw new Error('STARTTLS')
    plain.removeAllListeners('data')
    const secure = tls.connect({ socket: plain, secureContext: clientContext, rejectUnauthorized: false })
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject))
    next = replies(secure)
    secure.write('EHLO bench.example\r\n')
    if ((await next()) !== 250) throw new Error('EHLO after TLS')
    secure.write('QUIT\r\n')
    if ((await next()) !== 221) throw new Error('QUIT')
    secure.destroy()
  } finally {
    plain.destroy()
  }
}

/** Closed loop at C for `seconds`: sessions completed, errors, server CPU ms. */
async function load(h: HarakaInstance, seconds: number) {
  const until = Date.now() + seconds * 1000
  let sessions = 0
  let errors = 0
  const cpu0 = cpuMs(h.pid)
  const elapsed = await closedLoop(
    C,
    () => Date.now() < until,
    async () => {
      try {
        await session(h.ports.inbound)
        sessions++
      } catch {
        errors++
      }
    },
  )
  const serverMs = cpuMs(h.pid) - cpu0
  return { sessions, errors, rate: sessions / elapsed, cpuMs: serverMs }
}

const range = (xs: number[], digits: number) =>
  `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`

async function main(): Promise<void> {
  const variants: Variant[] = [
    { label: 'stock Haraka (tls)', name: 'stock', plugins: 'tls\n', rates: [], cpuMs: [], errors: 0 },
    {
      label: 'tls + tls_context',
      name: 'tls_context',
      plugins: 'tls\ntls_context\n',
      rates: [],
      cpuMs: [],
      errors: 0,
    },
  ]
  try {
    for (const v of variants) {
      v.haraka = await startHaraka({
        ldapUrl: 'ldap://127.0.0.1:9', // no LDAP plugin is loaded
        files: { plugins: v.plugins, 'log.ini': '[main]\nlevel=notice\n' },
        cpuProfile: PROF_DIR ? { dir: PROF_DIR, name: `${v.name}.cpuprofile` } : undefined,
      })
    }
    for (const v of variants) await load(v.haraka!, WARMUP)
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? [...variants].reverse() : variants
      for (const v of order) {
        const r = await load(v.haraka!, SECONDS)
        v.rates.push(r.rate)
        v.cpuMs.push(r.cpuMs / Math.max(r.sessions, 1))
        v.errors += r.errors
      }
    }
    for (const v of variants) {
      if (v.label.includes('tls_context') && !v.haraka!.logs().includes('tls_context: sharing')) {
        console.error('warning: tls_context did not log that it patched STARTTLS:')
        console.error(
          v
            .haraka!.logs()
            .split('\n')
            .filter((l) => l.includes('tls_context'))
            .join('\n'),
        )
      }
    }
  } finally {
    for (const v of variants) await v.haraka?.stop()
  }

  const base = median(variants[0]!.rates)
  console.log(
    `\nbare STARTTLS sessions (connect, EHLO, STARTTLS, handshake, EHLO, QUIT), Node ${process.versions.node}, ` +
      `C=${C}, ${ROUNDS} interleaved rounds of ${SECONDS} s after ${WARMUP} s warm-up\n`,
  )
  console.log(
    table(
      ['target', 'sessions/s median (range)', 'server CPU ms/session median (range)', 'errors', '× stock'],
      variants.map((v) => [
        v.label,
        `${median(v.rates).toFixed(0)} (${range(v.rates, 0)})`,
        `${median(v.cpuMs).toFixed(2)} (${range(v.cpuMs, 2)})`,
        String(v.errors),
        `${(median(v.rates) / base).toFixed(2)}×`,
      ]),
    ),
  )
}

main().catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
