// `haraka-ldap lint`: config/ read as the plugins read it, and everything in it
// weaker than the safe defaults, each with its file and key: the plugins' own
// load warnings (lib/*/config: the same words Haraka logs at every load), plus
// what only a reader of the whole folder can see: a cleartext directory link,
// secrets in files other users may read, AUTH without TLS or on the MX port,
// several workers without Redis, a metrics listener open to other hosts. A file that does not parse is an error (exit 2).
import { readFileSync, statSync } from 'node:fs'
import { cpus } from 'node:os'
import path from 'node:path'
import { budgetWarnings } from '../../lib/authn/budget'
import { authWarnings, LDAP_AUTH_INI } from '../../lib/authn/config'
import { identityNotes, identityRuleFor } from '../../lib/authn/identity'
import { AUTH_ENC_FILE_INI } from '../../lib/authn/local_users'
import { readConfig, readIni } from '../../lib/config/read_dir'
import type { IniFile } from '../../lib/config/schema'
import { directoryWarnings, LDAP_DIRECTORY_INI } from '../../lib/ldap/config'
import { authMetricsIni, metricsWarnings } from '../../lib/metrics/config'
import { AUTH_LIMITS_INI, limitsWarnings } from '../../lib/limiter/config'
import { AUTH_RELAY_INI, relayWarnings } from '../../lib/relay/config'
import { SHARED_STATE_INI, severalWorkers, storeWarnings } from '../../lib/state/config'
import { authStampIni, stampWarnings } from '../../lib/stamp/config'
import { EXIT, instanceDir } from './common'

export type Level = 'error' | 'warning' | 'notice'

export interface Finding {
  level: Level
  file: string
  key: string
  message: string
}

/** The option a plugin's warning or a parser's error is about: its leading `key=` / `key:` / `[section] key:`. */
function keyOf(message: string, fallback: string): string {
  const m = /^(?:\[(\w+)\] )?([A-Za-z_][\w@.+-]*)[=:]/.exec(message)
  // `ldap://host: ...` names a URL, not a key
  if (!m || message.slice(m[0].length).startsWith('//')) return fallback
  return m[1] && m[1] !== 'main' ? `[${m[1]}] ${m[2]}` : m[2]!
}

export function lintConfig(dir: string): Finding[] {
  const findings: Finding[] = []
  const add = (level: Level, file: string, key: string, message: string) =>
    findings.push({ level, file, key, message })
  const load = <T>(ini: IniFile<T>): T | undefined => {
    let parsed
    try {
      parsed = readConfig([dir], ini)
    } catch (err) {
      add(
        'error',
        ini.name,
        '-',
        `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      )
      return undefined
    }
    if (parsed.ok) return parsed.cfg
    for (const e of parsed.errors) add('error', ini.name, keyOf(e, '-'), e.replace(/^\[main\] /, ''))
    return undefined
  }
  const warn = (file: string, messages: readonly string[], fallback: string, level: Level = 'warning') => {
    for (const m of messages) add(level, file, keyOf(m, fallback), m)
  }

  const plugins = listFile(path.join(dir, 'plugins'))
  const authOn = plugins.includes('ldap_auth')

  const directory = load(LDAP_DIRECTORY_INI)
  const auth = load(LDAP_AUTH_INI)
  if (directory) {
    warn('ldap_directory.ini', directoryWarnings(directory), 'servers')
    for (const url of directory.servers) {
      if (/^ldap:\/\//i.test(url) && !directory.starttls && isLoopbackUrl(url))
        add(
          'notice',
          'ldap_directory.ini',
          'servers',
          `${url}: unencrypted (no starttls), acceptable only because the directory is on this host (loopback)`,
        )
    }
    const notes = identityNotes(identityRuleFor(directory))
    warn('ldap_directory.ini', notes.warnings, 'user_filter')
    warn('ldap_directory.ini', notes.notes, 'user_filter', 'notice')
    if (directory.bind_password)
      secretFile(dir, 'ldap_directory.ini', 'bind_password', 'the service account password', add)
  }
  if (auth) {
    warn('ldap_auth.ini', authWarnings(auth), 'ldap_auth.ini')
    if (directory) warn('ldap_auth.ini', budgetWarnings(auth, directory, pluginTimeout(dir)), 'auth_timeout')
    if (auth.local_users !== 'off') {
      const users = load(AUTH_ENC_FILE_INI)
      if (users?.size) secretFile(dir, 'auth_enc_file.ini', '[users]', 'password hashes', add)
    }
  }

  if (authOn) {
    const limits = load(AUTH_LIMITS_INI)
    if (limits) {
      warn('auth_limits.ini', limitsWarnings(limits), 'enabled')
      if (limits.secret) secretFile(dir, 'auth_limits.ini', 'secret', 'the AUTH limiter key', add)
    }
  }

  const relay = load(AUTH_RELAY_INI)
  if (relay) warn('auth_relay.ini', relayWarnings(relay), 'auth_relay.ini')

  const stamp = load(authStampIni(instanceDir(dir)))
  if (stamp) {
    warn('auth_stamp.ini', stampWarnings(stamp), 'key_file')
    const raw = readIni([dir], 'auth_stamp.ini').main ?? {}
    for (const key of ['key', 'previous_key'])
      if (raw[key]) secretFile(dir, 'auth_stamp.ini', key, 'a signing key', add)
  }

  if (plugins.includes('auth_metrics')) {
    const metrics = load(authMetricsIni(instanceDir(dir)))
    if (metrics) {
      warn('auth_metrics.ini', metricsWarnings(metrics), 'listen')
      if (metrics.password) secretFile(dir, 'auth_metrics.ini', 'password', 'the metrics password', add)
    }
  }

  if (authOn) {
    const tls = plugins.indexOf('tls')
    if (tls < 0 || tls > plugins.indexOf('ldap_auth'))
      add(
        'warning',
        'plugins',
        'tls',
        'tls is not listed before ldap_auth: no session is encrypted, so ldap_auth never offers AUTH (it is TLS-only)',
      )
  }
  const smtp = readIni([dir], 'smtp.ini').main ?? {}
  const ports = listenPorts(smtp)
  if (authOn && ports.includes(25))
    add(
      'warning',
      'smtp.ini',
      smtp.listen !== undefined ? 'listen' : 'port',
      'port 25 (inbound MX) is served: ldap_auth offers AUTH there after STARTTLS, to anyone on the Internet; serve submission (587/465) from its own instance',
    )
  const nodes = String(smtp.nodes ?? '')
  const workers = nodes === 'cpus' ? cpus().length : Number(nodes) || 0
  // What the workers share is shared_state.ini's store (the redis plugin alone shares nothing of ours).
  const shared = load(SHARED_STATE_INI)
  // (its nodes rule is the one below, keyed to smtp.ini and counting 'cpus' as this machine's)
  if (shared) warn('shared_state.ini', storeWarnings(shared), 'on_failure')
  if (severalWorkers(workers) && shared?.store !== 'redis')
    add(
      'warning',
      'smtp.ini',
      'nodes',
      `nodes=${nodes}: several worker processes, each with its own AUTH limiter counts and bans and containment budgets: set shared_state.ini store=redis to share them`,
    )
  return findings
}

/** Exit code: errors 2; warnings 1; notices 1 only with --strict. */
export function lintExitCode(findings: readonly Finding[], strict: boolean): number {
  if (findings.some((f) => f.level === 'error')) return EXIT.USAGE
  if (findings.some((f) => f.level === 'warning' || (strict && f.level === 'notice'))) return EXIT.REFUSED
  return EXIT.OK
}

export function renderLint(findings: readonly Finding[]): string {
  if (!findings.length) return 'no findings\n'
  const counts = (['error', 'warning', 'notice'] as const)
    .map((l) => `${findings.filter((f) => f.level === l).length} ${l}(s)`)
    .join(', ')
  return (
    findings.map((f) => `${f.level.padEnd(7)} ${f.file} ${f.key}: ${f.message}\n`).join('') + `${counts}\n`
  )
}

function isLoopbackUrl(url: string): boolean {
  return /^ldap:\/\/(127\.|\[::1\]|localhost[:/]|localhost$)/i.test(url)
}

/** A secret in a file that other users may read. */
function secretFile(
  dir: string,
  file: string,
  key: string,
  what: string,
  add: (level: Level, file: string, key: string, message: string) => void,
): void {
  let mode: number
  try {
    mode = statSync(path.join(dir, file)).mode & 0o777
  } catch {
    return
  }
  if (mode & 0o004)
    add(
      'warning',
      file,
      key,
      `${what} is in a file every local user can read (mode ${mode.toString(8)}); chmod 640 it (owner and Haraka's group)`,
    )
}

/** A Haraka list file (config/plugins): one name a line, # comments. */
function listFile(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean)
  } catch {
    return []
  }
}

/** The ports smtp.ini listens on: `listen` (host:port,...), else `port` (Haraka's default 25). */
function listenPorts(smtp: Record<string, string | string[]>): number[] {
  const listen = smtp.listen
  if (listen !== undefined)
    return String(listen)
      .split(',')
      .map((a) => Number(/:(\d+)\s*$/.exec(a.trim())?.[1] ?? 25))
  return [Number(smtp.port ?? 25)]
}

/** Haraka's plugin timeout for ldap_auth: config/ldap_auth.timeout, else plugin_timeout (default 30). */
function pluginTimeout(dir: string): number {
  for (const name of ['ldap_auth.timeout', 'plugin_timeout']) {
    try {
      const v = Number(readFileSync(path.join(dir, name), 'utf8').trim())
      if (Number.isFinite(v)) return v
    } catch {
      // not set
    }
  }
  return 30
}
