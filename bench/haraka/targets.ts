// What the bench runs, as data: each target is a Haraka instance described by the
// repository it runs from, its config/plugins list and extra config files. A new
// target (e.g. Haraka + a TLS plugin) is one more entry here.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { BENCH_BASE_DN, BENCH_GROUP_DN, BENCH_SERVICE, flatFileIni, type BenchUser } from './directory'

export interface Target {
  name: string
  /** repository the instance's plugins/, node_modules/ and config/ come from */
  repo: string
  /** config/plugins, in order */
  plugins: string[]
  /** whole files under config/ */
  files?: Record<string, string>
  /** [main] keys set in config files */
  ini?: Record<string, { main?: Record<string, string>; append?: string }>
  env?: NodeJS.ProcessEnv
  /** talks to the bench slapd (its LDAP connections are counted) */
  ldap: boolean
  /** refuses logins outside BENCH_GROUP_DN */
  groupCheck: boolean
  /**
   * the target whose CPU per session this one's is compared with (CPU − flat): the flat_file
   * ceiling with the same TLS setup, so that the column is our plugins' cost alone
   */
  cpuCeiling?: string
  /** run only when --targets names it */
  optional?: boolean
}

/** our stack as config/plugins ships it: tls_context reuses one TLS context for STARTTLS */
const OUR_PLUGINS = ['tls', 'tls_context', 'ldap_auth', 'auth_relay', 'auth_stamp', 'queue/discard']
/** a `--base=` checkout from before tls_context */
const BASE_PLUGINS = OUR_PLUGINS.filter((p) => p !== 'tls_context')
/**
 * Containment off (on by default). The AUTH limiter is off in every target, as the test harness
 * sets it: the load comes from one address, and the prober's wrong passwords would ban it. What
 * the limiter costs is npm run bench:limiter's measure.
 */
const NO_CONTAINMENT: Target['ini'] = { 'auth_relay.ini': { main: { containment: 'off' } } }
const optional = (t: Target): Target => ({ ...t, optional: true })
/** queue/discard accepts every queued message only when told to */
const DISCARD = { YES_REALLY_DO_DISCARD: '1' }

function ours(
  name: string,
  repo: string,
  auth: Record<string, string>,
  plugins = OUR_PLUGINS,
  more: Target['ini'] = {},
): Target {
  return {
    cpuCeiling: plugins.includes('tls_context') ? 'flat_file+tls_context' : 'flat_file',
    name,
    repo,
    plugins,
    ini: {
      'ldap_directory.ini': {
        main: { bind_dn: BENCH_SERVICE.dn, bind_password: BENCH_SERVICE.password, base_dn: BENCH_BASE_DN },
      },
      // failure_delay stays at its default, 1 s, as auth_base's first-failure delay
      'ldap_auth.ini': { main: { require_group: BENCH_GROUP_DN, ...auth } },
      ...more,
    },
    env: DISCARD,
    ldap: true,
    groupCheck: true,
  }
}

export function defaultTargets(opts: { repo: string; base?: string; users: readonly BenchUser[] }): Target[] {
  const flat = (name: string, plugins: string[]): Target => ({
    name,
    repo: opts.repo,
    plugins,
    files: { 'auth_flat_file.ini': flatFileIni(opts.users) },
    env: DISCARD,
    ldap: false,
    groupCheck: false,
  })
  const targets: Target[] = [
    // stock Haraka: the ceiling for any AUTH plugin (the ratios and p99 − flat compare with it)
    flat('flat_file', ['tls', 'auth/flat_file', 'queue/discard']),
    // the same with our TLS context reuse: what our AUTH, relay and stamp plugins add is ours − this
    flat('flat_file+tls_context', ['tls', 'tls_context', 'auth/flat_file', 'queue/discard']),
    ours('ours', opts.repo, { cache_ttl: '0' }),
    ours('ours+cache', opts.repo, { cache_ttl: '600' }),
    // Run only when named in --targets: what containment (issue 12) and the audit line cost,
    // by turning them off (the AUTH limiter is off in every target: see NO_CONTAINMENT).
    optional(ours('ours-containment', opts.repo, { cache_ttl: '0' }, OUR_PLUGINS, NO_CONTAINMENT)),
    optional(
      ours(
        'ours-containment-audit',
        opts.repo,
        { cache_ttl: '0', audit: 'off' },
        OUR_PLUGINS,
        NO_CONTAINMENT,
      ),
    ),
    optional(
      ours(
        'ours+cache-containment-audit',
        opts.repo,
        { cache_ttl: '600', audit: 'off' },
        OUR_PLUGINS,
        NO_CONTAINMENT,
      ),
    ),
  ]
  if (opts.base) {
    const plugins = existsSync(path.join(opts.base, 'plugins', 'tls_context')) ? OUR_PLUGINS : BASE_PLUGINS
    targets.push(
      ours('base', opts.base, { cache_ttl: '0' }, plugins),
      ours('base+cache', opts.base, { cache_ttl: '600' }, plugins),
    )
  }
  return targets
}
