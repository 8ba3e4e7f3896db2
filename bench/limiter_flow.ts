// npm run bench:limiter-flow: the AUTH limiter's own CPU per attempt, without TLS, sockets
// to the client or slapd: ldap_auth's connect check and verifyAttempt on haraka-test-fixtures
// connections in front of the fake directory (test/harness/ldap_auth_plugin), one attempt
// after the other, for the limiter off, on with the memory store, and on with the Redis
// store (a throwaway redis-server on loopback, through haraka/redis_state as Haraka opens
// it). Steadier than bench:limiter on a busy machine (process CPU of one process, no
// scheduling between five), so it shows what a change to the limiter's path costs; it
// does not show latency or what redis-server spends. BENCH_FLOW_ATTEMPTS (default 10 000).
// Copied (compiled) into another checkout's dist/bench/ it measures that checkout (copy
// dist/test/harness/ldap_auth_plugin.js with it where that checkout has none).
import constants from 'haraka-constants'
import { SHARED_STATE_INI, type SharedStateConfig } from '../lib/state/config'
import { MemoryStateStore } from '../lib/state/memory'
import type { StateStore } from '../lib/state/store'
import { openRedisState } from '../haraka/redis_state'
import type { AttemptPlugin } from '../plugins/ldap_auth/attempt'
import * as limitHooks from '../plugins/ldap_auth/limit_hooks'
import { fakeLdapAuthPlugin, fixturesConnection, plainAttempt } from '../test/harness/ldap_auth_plugin'
import { startRedis } from '../test/harness/redis'

const N = Number(process.env.BENCH_FLOW_ATTEMPTS ?? 10_000)
const WARMUP = 2000

function must<T>(p: { ok: true; cfg: T } | { ok: false; errors: string[] }): T {
  if (!p.ok) throw new Error(p.errors.join('; '))
  return p.cfg
}

function pluginFor(enabled: boolean): AttemptPlugin {
  return fakeLdapAuthPlugin({ limits: { enabled, secret: 'bench-secret-of-sixteen-chars' } }).plugin
}

/** One connection: the connect check, then AUTH PLAIN for alice; its reply code. */
function attempt(plugin: AttemptPlugin, notes: Record<string, unknown>): Promise<number> {
  const c = fixturesConnection({ ip: '192.0.2.44', notes })
  return new Promise((resolve) => {
    limitHooks.limit_connect.call(
      plugin,
      (code?: number) => {
        if (code === constants.denysoftdisconnect) return resolve(421)
        resolve(plainAttempt(plugin, c, 'right').then((r) => r.code))
      },
      c,
    )
  })
}

async function measure(label: string, enabled: boolean, store: StateStore): Promise<string[]> {
  const plugin = pluginFor(enabled)
  const notes = { ldap_submission_state: store }
  for (let i = 0; i < WARMUP; i++) await attempt(plugin, notes)
  const cpu = process.cpuUsage()
  const t = process.hrtime.bigint()
  for (let i = 0; i < N; i++) {
    const code = await attempt(plugin, notes)
    if (code !== 235) throw new Error(`${label}: ${code}`)
  }
  const used = process.cpuUsage(cpu)
  const wall = Number(process.hrtime.bigint() - t) / 1e3
  // (optional: the file also runs copied into an older checkout, to compare)
  ;(limitHooks as { stopBanMirror?: () => void }).stopBanMirror?.()
  return [label, ((used.user + used.system) / N).toFixed(1), (wall / N).toFixed(1)]
}

async function main(): Promise<void> {
  const redis = await startRedis()
  const cfg = must(
    SHARED_STATE_INI.parse({ main: { store: 'redis', prefix: 'flow:' } }) as never,
  ) as SharedStateConfig
  const rs = openRedisState(cfg, { host: '127.0.0.1', port: redis.port, tls: false }, { onChange: () => {} })
  try {
    for (let i = 0; i < 250 && !rs.connected(); i++) await new Promise((r) => setTimeout(r, 20))
    const rows = [
      await measure('limiter off', false, new MemoryStateStore()),
      await measure('limiter on, memory store', true, new MemoryStateStore()),
      await measure('limiter on, redis store', true, rs.store),
    ]
    console.log(`\nldap_auth connect check + AUTH PLAIN (fake directory), ${N} one after the other:\n`)
    console.log('| run | CPU µs / attempt | wall µs / attempt |')
    console.log('| --- | --- | --- |')
    for (const r of rows) console.log(`| ${r.join(' | ')} |`)
    const off = Number(rows[0]![1])
    for (const r of rows.slice(1))
      console.log(`${r[0]}: +${(Number(r[1]) - off).toFixed(1)} µs CPU per attempt`)
  } finally {
    await rs.close()
    await redis.dispose()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
