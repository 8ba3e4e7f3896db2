// Schema of config/ldap_directory.ini: how to reach the directory and find a
// login's entry. Shared by ldap_auth (passwords) and auth_relay (sender ownership).
import { readFileSync } from 'node:fs'
import { FilterParser } from 'ldapts'
import { iniFile, parseMainSection } from '../config/schema'
import type { Parsed, SectionSpec, SectionValues } from '../config/schema'
import { parseDn, type Rdn } from './dn'
import { escapeDnValue, escapeFilterValue } from './escape'
import { loginEntryKey } from './login_entry'
import { compileTemplate, hasSlot, renderTemplate, type Token } from './template'

const LDAP_URL = /^ldaps?:\/\/[^\s/]+(:\d+)?\/?$/i

export const DIRECTORY_SPEC = {
  servers: {
    type: 'list',
    default: ['ldap://127.0.0.1:389'],
    item: LDAP_URL,
    hint: 'an ldap:// or ldaps:// URL',
  },
  starttls: { type: 'bool', default: false },
  tls_ca_file: { type: 'string', default: '' },
  tls_reject_unauthorized: { type: 'bool', default: true },
  connect_timeout: { type: 'int', default: 3000, min: 100, max: 60000 },
  timeout: { type: 'int', default: 5000, min: 100, max: 60000 },
  bind_dn: { type: 'string', default: '' },
  bind_password: { type: 'secret', default: '' },
  base_dn: { type: 'string', default: '' },
  mode: { type: 'enum', default: 'search', values: ['search', 'template'] },
  user_filter: { type: 'string', default: '(&(objectClass=inetOrgPerson)(|(uid=%u)(mail=%u)))' },
  scope: { type: 'enum', default: 'sub', values: ['sub', 'one'] },
  dn_template: { type: 'multi', default: [] },
  pool_size: { type: 'int', default: 4, min: 1, max: 32 },
  bind_pool_size: { type: 'int', default: 4, min: 1, max: 64 },
  idle_timeout: { type: 'int', default: 60000, min: 1000, max: 3600000 },
  health_check_interval: { type: 'int', default: 10000, min: 500, max: 600000 },
} satisfies SectionSpec

export interface DirectoryConfig extends SectionValues<typeof DIRECTORY_SPEC> {
  readonly userFilter: readonly Token[]
  /** every DN template, tried in order by template-mode authentication */
  readonly dnTemplates: readonly (readonly Token[])[]
  readonly tlsCa: string | undefined
  /** loginEntryKey of these settings, made once here: the config is frozen */
  readonly loginKey: string
}

export function parseDirectoryConfig(raw: Record<string, any>): Parsed<DirectoryConfig> {
  return parseMainSection(raw, DIRECTORY_SPEC, checkDirectory)
}

function checkDirectory(main: SectionValues<typeof DIRECTORY_SPEC>, errors: string[]): DirectoryConfig {
  const userFilter = compileOrError('user_filter', main.user_filter, errors)
  const dnTemplates = main.dn_template.map((t, i) =>
    checkDnTemplate(t, main.dn_template.length > 1 ? i + 1 : 0, errors),
  )
  if (userFilter.length && hasSlot(userFilter)) {
    // Render with a value full of metacharacters: the escaped result must still parse.
    const probe = renderTemplate(userFilter, { u: 'a*()\\', l: 'a*', d: 'x)' }, escapeFilterValue)
    const problem = filterProblem(probe)
    if (problem) errors.push(`[main] user_filter: not a valid LDAP filter (${problem})`)
  } else if (userFilter.length) {
    errors.push('[main] user_filter: must contain %u, %l or %d')
  }
  if (main.mode === 'template') {
    if (!main.dn_template.length) errors.push('[main] dn_template: required when mode=template')
  } else {
    if (!main.base_dn) errors.push('[main] base_dn: required when mode=search')
    if (!main.bind_dn) errors.push('[main] bind_dn: required when mode=search (the service account)')
  }
  if (main.bind_dn && !main.bind_password) errors.push('[main] bind_password: required with bind_dn')
  if (main.starttls && main.servers.some((u) => /^ldaps:/i.test(u))) {
    errors.push('[main] starttls: use ldap:// URLs with starttls, or ldaps:// without it')
  }

  let tlsCa: string | undefined
  if (main.tls_ca_file) {
    try {
      tlsCa = readFileSync(main.tls_ca_file, 'utf8')
    } catch (err) {
      errors.push(`[main] tls_ca_file: cannot read ${main.tls_ca_file} (${(err as Error).message})`)
    }
  }

  return { ...main, userFilter, dnTemplates, tlsCa, loginKey: loginEntryKey(main) }
}

/** One DN template: placeholders known, the login inside an attribute value, a DN that parses. */
function checkDnTemplate(template: string, position: number, errors: string[]): Token[] {
  const key = position ? `dn_template[${position}]` : 'dn_template'
  const tokens = compileOrError(key, template, errors)
  if (!tokens.length) return tokens
  if (!hasSlot(tokens)) {
    errors.push(`[main] ${key}: must contain %u, %l or %d`)
    return tokens
  }
  // Render a marker login: the result must parse as a DN, with the marker only inside values.
  const marker = 'zq9x'
  const rendered = renderTemplate(
    tokens,
    { u: `${marker}@${marker}.test`, l: marker, d: `${marker}.test` },
    escapeDnValue,
  )
  let rdns: Rdn[] = []
  try {
    rdns = parseDn(rendered)
  } catch {
    // reported below
  }
  const avas = rdns.flat()
  if (!avas.some((a) => a.value.includes(marker)) || avas.some((a) => a.type.includes(marker))) {
    errors.push(`[main] ${key}: must be a DN around the login, e.g. uid=%u,ou=people,dc=example,dc=com`)
  }
  return tokens
}

/** ldapts' parser forgives a missing `)`, so check the nesting ourselves first. */
function filterProblem(filter: string): string | undefined {
  if (!filter.startsWith('(')) return 'must start with ('
  let depth = 0
  for (const [i, ch] of [...filter].entries()) {
    if (depth === 0 && i > 0) return 'must be one parenthesised filter'
    if (ch === '(') depth++
    else if (ch === ')' && --depth < 0) return `unexpected ) at ${i + 1}`
  }
  if (depth !== 0) return 'unbalanced parentheses'
  try {
    FilterParser.parseString(filter)
  } catch (err) {
    return (err as Error).message
  }
  return undefined
}

function compileOrError(key: string, template: string, errors: string[]): Token[] {
  try {
    return compileTemplate(template)
  } catch (err) {
    errors.push(`[main] ${key}: ${(err as Error).message}`)
    return []
  }
}

/** Connection settings without secrets, for log lines. */
export function describeDirectory(cfg: DirectoryConfig): string {
  return `servers=${cfg.servers.join(',')} mode=${cfg.mode} starttls=${cfg.starttls} base_dn=${cfg.base_dn || '-'}`
}

/** Settings that are allowed but weaken security: logged as warnings at every load. */
export function directoryWarnings(cfg: DirectoryConfig): string[] {
  const warnings: string[] = []
  if (!cfg.tls_reject_unauthorized) {
    warnings.push('tls_reject_unauthorized=false: the directory certificate is not verified')
  }
  for (const url of cfg.servers) {
    const plain = /^ldap:\/\//i.test(url) && !cfg.starttls
    const loopback = /^ldap:\/\/(127\.|\[::1\]|localhost[:/]|localhost$)/i.test(url)
    if (plain && !loopback)
      warnings.push(`${url}: passwords go to the directory unencrypted (use ldaps:// or starttls=true)`)
  }
  return warnings
}

/** config/ldap_directory.ini, shared by the three plugins */
export const LDAP_DIRECTORY_INI = iniFile('ldap_directory.ini', DIRECTORY_SPEC, parseDirectoryConfig)
