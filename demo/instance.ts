// What the launcher needs to know about this Haraka instance, read from the
// same config files Haraka reads, so ports and URLs live in one place.
import { readFileSync } from 'node:fs'
import path from 'node:path'

/** Value of `key` in the [main] part of an ini file (before any other section). */
export function mainIniValue(text: string, key: string): string | undefined {
  let section = 'main'
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    const header = /^\[([^\]]+)\]$/.exec(line)
    if (header) section = header[1]!.trim()
    else if (section === 'main' && !/^[;#]/.test(line)) {
      const m = new RegExp(`^${key}\\s*=\\s*(.*)$`).exec(line)
      if (m) return m[1]!.trim()
    }
  }
  return undefined
}

export interface InstanceInfo {
  host: string
  /** every listener as host:port, from smtp.ini listen= */
  listeners: { host: string; port: number }[]
  smtpsPort: number
  ldapUrl: string
  /** host and port of the LDAP URL when it is ldap://<loopback>:<port>, the demo directory's place */
  demoLdap: { host: string; port: number } | undefined
  me: string
}

export function readInstance(root: string): InstanceInfo {
  const config = (name: string) => readFileSync(path.join(root, 'config', name), 'utf8')
  const smtp = config('smtp.ini')
  const listeners = (mainIniValue(smtp, 'listen') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((ep) => {
      const m = /^(.*):(\d+)$/.exec(ep)
      if (!m) throw new Error(`config/smtp.ini: cannot read listener ${ep}`)
      return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) }
    })
  const ldapUrl = (mainIniValue(config('ldap_directory.ini'), 'servers') ?? '').split(',')[0]!.trim()
  const demo = /^ldap:\/\/(127\.0\.0\.1|localhost):(\d+)\/?$/.exec(ldapUrl)
  return {
    host: listeners[0]?.host ?? '127.0.0.1',
    listeners,
    smtpsPort: Number(mainIniValue(smtp, 'smtps_port') ?? 465),
    ldapUrl,
    demoLdap: demo ? { host: '127.0.0.1', port: Number(demo[2]) } : undefined,
    me: config('me').trim(),
  }
}
