// What the bench runs, as data: each target is a Haraka instance described by the
// repository it runs from, its config/plugins list and extra config files. A new
// target (e.g. Haraka + a TLS plugin) is one more entry here.
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
}

/** our stack as config/plugins ships it: tls_context reuses one TLS context for STARTTLS */
const OUR_PLUGINS = ['tls', 'tls_context', 'ldap_auth', 'auth_relay', 'auth_stamp', 'queue/discard']
/** a checkout from before tls_context (`--base=`) */
const BASE_PLUGINS = OUR_PLUGINS.filter((p) => p !== 'tls_context')
/** queue/discard accepts every queued message only when told to */
const DISCARD = { YES_REALLY_DO_DISCARD: '1' }

function ours(name: string, repo: string, auth: Record<string, string>, plugins = OUR_PLUGINS): Target {
  return {
    name,
    repo,
    plugins,
    ini: {
      'ldap_directory.ini': {
        main: { bind_dn: BENCH_SERVICE.dn, bind_password: BENCH_SERVICE.password, base_dn: BENCH_BASE_DN },
      },
      // failure_delay stays at its default, 1 s, as auth_base's first-failure delay
      'ldap_auth.ini': { main: { require_group: BENCH_GROUP_DN, ...auth } },
    },
    env: DISCARD,
    ldap: true,
    groupCheck: true,
  }
}

export function defaultTargets(opts: { repo: string; base?: string; users: readonly BenchUser[] }): Target[] {
  const targets: Target[] = [
    {
      name: 'flat_file',
      repo: opts.repo,
      plugins: ['tls', 'auth/flat_file', 'queue/discard'],
      files: { 'auth_flat_file.ini': flatFileIni(opts.users) },
      env: DISCARD,
      ldap: false,
      groupCheck: false,
    },
    ours('ours', opts.repo, { cache_ttl: '0' }),
    ours('ours+cache', opts.repo, { cache_ttl: '600' }),
  ]
  if (opts.base)
    targets.push(
      ours('base', opts.base, { cache_ttl: '0' }, BASE_PLUGINS),
      ours('base+cache', opts.base, { cache_ttl: '600' }, BASE_PLUGINS),
    )
  return targets
}
