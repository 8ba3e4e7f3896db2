// What the launcher needs to know about this Haraka instance, read from the
// same config files Haraka reads, so ports and URLs live in one place.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { readIni } from '../lib/config/read_dir'

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
  const dir = path.join(root, 'config')
  // [main] (or before any section) `key`, read as Haraka reads it (the last one written wins)
  const mainValue = (file: string, key: string) => {
    const value = readIni([dir], file, { required: true }).main?.[key]
    return Array.isArray(value) ? value.at(-1) : value
  }
  const listeners = (mainValue('smtp.ini', 'listen') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((ep) => {
      const m = /^(.*):(\d+)$/.exec(ep)
      if (!m) throw new Error(`config/smtp.ini: cannot read listener ${ep}`)
      return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) }
    })
  const ldapUrl = (mainValue('ldap_directory.ini', 'servers') ?? '').split(',')[0]!.trim()
  const demo = /^ldap:\/\/(127\.0\.0\.1|localhost):(\d+)\/?$/.exec(ldapUrl)
  return {
    host: listeners[0]?.host ?? '127.0.0.1',
    listeners,
    smtpsPort: Number(mainValue('smtp.ini', 'smtps_port') ?? 465),
    ldapUrl,
    demoLdap: demo ? { host: '127.0.0.1', port: Number(demo[2]) } : undefined,
    me: readFileSync(path.join(dir, 'me'), 'utf8').trim(),
  }
}
