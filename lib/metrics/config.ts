// Schema of config/auth_metrics.ini: where the metrics listener listens (off by
// default), its path, optional basic auth, and how long the master waits for the
// workers' counts. Pure apart from reading password_file at load, as auth_stamp's key_file.
import ipaddr from 'ipaddr.js'
import { iniFile, parseMainSection } from '../config/schema'
import type { IniFile, Parsed, SectionSpec, SectionValues } from '../config/schema'
import { readSecretFile } from '../config/secret_file'
import { normaliseIp } from '../net/ip'

export const METRICS_SPEC = {
  listen: {
    type: 'string',
    default: '',
    pattern: /^(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):)?\d{1,5}$/,
    hint: 'a port, or host:port ([v6]:port)',
  },
  path: { type: 'string', default: '/metrics', pattern: /^\/[!-~]*$/, hint: 'a path starting with /' },
  user: { type: 'string', default: '', pattern: /^[^:\s]*$/, hint: 'a user name without colon or space' },
  password: { type: 'secret', default: '' },
  password_file: { type: 'string', default: '' },
  scrape_timeout: { type: 'int', default: 3000, min: 100, max: 30000 },
} satisfies SectionSpec

export interface MetricsConfig extends SectionValues<typeof METRICS_SPEC> {
  /** where to listen; undefined: no listener (the default) */
  readonly address: { host: string; port: number } | undefined
  /** the basic auth password (password, or password_file's first line); empty: no basic auth */
  readonly secret: string
  /** password_file as read, with its mode (lint: a file others may read) */
  readonly passwordFile: { path: string; mode: number } | undefined
}

/** The address a listen value names: a port alone is on 127.0.0.1 (never every interface by default). */
export function listenAddress(listen: string): { host: string; port: number } | undefined {
  if (!listen) return undefined
  const m = /^(?:(.*):)?(\d+)$/.exec(listen)
  if (!m) return undefined
  const host = (m[1] ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1')
  return { host, port: Number(m[2]) }
}

/** Whether a listen host is this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true
  const ip = normaliseIp(host)
  return ip !== null && ipaddr.parse(ip).range() === 'loopback'
}

export function parseMetricsConfig(raw: Record<string, any>, baseDir = process.cwd()): Parsed<MetricsConfig> {
  return parseMainSection(raw, METRICS_SPEC, (main, errors) => {
    const address = listenAddress(main.listen)
    if (address && (address.port < 1 || address.port > 65535))
      errors.push(`[main] listen: port ${address.port} is not from 1 to 65535`)
    let secret = main.password
    let passwordFile: MetricsConfig['passwordFile']
    if (main.password && main.password_file)
      errors.push('[main] password_file: give password or password_file, not both')
    else if (main.password_file) {
      const file = readSecretFile('password_file', main.password_file, baseDir, errors)
      if (file) {
        // the first line: a file written with echo ends in a newline
        secret = (file.text.split(/\r?\n/)[0] ?? '').trim()
        passwordFile = { path: file.path, mode: file.mode }
        if (!secret) errors.push(`[main] password_file: ${file.path} is empty`)
      }
    }
    if (main.user && !secret) errors.push('[main] user: needs password or password_file')
    if (!main.user && secret) errors.push('[main] password: needs user')
    return { ...main, address, secret, passwordFile }
  })
}

/** What weakens the listener, in the words Haraka logs at load and `haraka-ldap lint` reports. */
export function metricsWarnings(cfg: MetricsConfig): string[] {
  const out: string[] = []
  if (cfg.address && !isLoopbackHost(cfg.address.host) && !cfg.user)
    out.push(
      `listen: ${cfg.listen} is reachable from other hosts and has no basic auth (user, password_file): anyone who can reach it reads the counts`,
    )
  if (cfg.passwordFile && cfg.passwordFile.mode & 0o004)
    out.push(
      `password_file: ${cfg.passwordFile.path} is readable by every local user (mode ${cfg.passwordFile.mode.toString(8)}); chmod 640 it`,
    )
  return out
}

/** auth_metrics.ini, a relative password_file read under `baseDir` (the Haraka instance directory). */
export function authMetricsIni(baseDir: string): IniFile<MetricsConfig> {
  return iniFile('auth_metrics.ini', METRICS_SPEC, (raw) => parseMetricsConfig(raw, baseDir))
}
