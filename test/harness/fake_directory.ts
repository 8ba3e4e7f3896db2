// The one in-memory directory of the unit and hook tests, behind the
// AuthDirectory interface and configured by a real ldap_directory.ini
// configuration: search mode evaluates user_filter on the entries (equality,
// presence, and/or/not, multi-valued attributes, and an extensible match naming
// caseExactMatch), template mode binds to the DNs the dn_templates render, and a
// group check reads the group entry's member values. Values compare as
// caseIgnoreMatch does (case-folded, runs of white space collapsed) unless
// `caseExact`, as in a directory whose login attribute matches exactly. Its
// state says what was asked and makes it fail (down, busy), wait (hold) or
// close as the real client does. LDAP itself is tested against slapd
// (test/integration); test/harness/fake_ldap.ts is a scripted LDAP *server*.
import {
  AndFilter,
  EqualityFilter,
  ExtensibleFilter,
  FilterParser,
  NotFilter,
  OrFilter,
  PresenceFilter,
  type Filter,
} from 'ldapts'
import { parseDirectoryConfig, type DirectoryConfig } from '../../lib/ldap/config'
import { dnEqual } from '../../lib/ldap/dn'
import { DirectoryBusyError, DirectoryUnavailableError } from '../../lib/ldap/errors'
import { escapeDnValue, escapeFilterValue } from '../../lib/ldap/escape'
import { PoolClosedError } from '../../lib/ldap/pool'
import { renderTemplate } from '../../lib/ldap/template'
import type { AuthDirectory, DirectoryEntry, Lookup } from '../../lib/ldap/types'

export interface FakeEntry {
  dn: string
  /** the entry's userPassword; no password: binds fail */
  password?: string
  /** attribute names in any case; a group lists its members' DNs in member or uniqueMember */
  attributes: Record<string, string[]>
}

export interface FakeDirectoryState {
  /** while true, every request fails as an outage does (DirectoryUnavailableError) */
  down: boolean
  /** while true, every request fails as our full pool does (DirectoryBusyError) */
  busy: boolean
  /** while set, every request waits for it first (a slow or hung directory) */
  hold?: Promise<void>
  /** set by close(); requests then fail as on the real client's closed pools */
  closed: boolean
  /** entry lookups asked (findUser, readEntry), counted before they answer or fail */
  searches: number
  /** binds asked (checkPassword, bindAndRead) */
  binds: number
  /** every request as the server would see it: `search <filter>`, `read <dn>`, `member <group> <dn>`, `bind <dn>` */
  requests: string[]
}

/** A valid search-mode ldap_directory.ini for a fake (base ou=people,dc=example,dc=com), with `main` on top. */
export function fakeDirectoryConfig(main: Record<string, unknown> = {}): DirectoryConfig {
  return must(
    parseDirectoryConfig({
      main: { base_dn: 'ou=people,dc=example,dc=com', bind_dn: 'cn=x', bind_password: 'x', ...main },
    }),
  )
}

/** The config a parser returned, or its errors thrown (test and bench setup). */
export function must<T>(p: { ok: true; cfg: T } | { ok: false; errors: string[] }): T {
  if (!p.ok) throw new Error(p.errors.join('; '))
  return p.cfg
}

export function fakeDirectory(
  cfg: DirectoryConfig,
  entries: FakeEntry[],
  opts: { caseExact?: boolean } = {},
): { dir: AuthDirectory; state: FakeDirectoryState } {
  const state: FakeDirectoryState = {
    down: false,
    busy: false,
    closed: false,
    searches: 0,
    binds: 0,
    requests: [],
  }
  const fold = (v: string) =>
    opts.caseExact ? v.normalize('NFC') : v.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim()
  const values = (e: FakeEntry, attribute: string) =>
    Object.entries(e.attributes).find(([name]) => name.toLowerCase() === attribute.toLowerCase())?.[1] ?? []
  const equal = (e: FakeEntry, attribute: string, value: string, exact = false) =>
    values(e, attribute).some((v) => (exact ? v === value : fold(v) === fold(value)))
  const matches = (f: Filter, e: FakeEntry): boolean => {
    if (f instanceof AndFilter) return f.filters.every((x) => matches(x, e))
    if (f instanceof OrFilter) return f.filters.some((x) => matches(x, e))
    if (f instanceof NotFilter) return !matches(f.filter, e)
    if (f instanceof EqualityFilter) return equal(e, f.attribute, String(f.value))
    if (f instanceof PresenceFilter) return values(e, f.attribute).length > 0
    if (f instanceof ExtensibleFilter) return equal(e, f.matchType, f.value, /^caseExactMatch$/i.test(f.rule))
    throw new Error(`the fake directory does not evaluate ${f.toString()}`)
  }
  const project = (e: FakeEntry, attributes: readonly string[]): DirectoryEntry => {
    const wanted = new Set(attributes.map((a) => a.toLowerCase()))
    const out: Record<string, string[]> = {}
    for (const [name, v] of Object.entries(e.attributes))
      if (wanted.has(name.toLowerCase())) out[name.toLowerCase()] = [...v]
    return { dn: e.dn, attributes: out }
  }
  const byDn = (dn: string) => entries.find((e) => (opts.caseExact ? e.dn === dn : dnEqual(e.dn, dn)))

  /** One request reaching the directory: recorded, then held, then failed as the state says. */
  async function ask(op: string, request: string): Promise<void> {
    state.requests.push(request)
    if (state.hold) await state.hold
    if (state.closed) throw new PoolClosedError('pool is closed')
    if (state.down) throw new DirectoryUnavailableError(`${op} failed: connect ECONNREFUSED`)
    if (state.busy)
      throw new DirectoryBusyError(
        `${op} failed: connection pool busy: no free connection within ${cfg.timeout} ms`,
      )
  }

  async function bind(dn: string, password: string, attributes: readonly string[]) {
    // As the real client: an empty password is refused without asking (it would be an anonymous bind).
    if (!password) return { ok: false as const }
    state.binds++
    await ask('bind', `bind ${dn}`)
    const e = byDn(dn)
    if (!e || e.password === undefined || e.password !== password) return { ok: false as const }
    return { ok: true as const, entry: attributes.length ? project(e, attributes) : null }
  }

  const dir: AuthDirectory = {
    async findUser(parts, attributes): Promise<Lookup> {
      const filter = renderTemplate(cfg.userFilter, parts, escapeFilterValue)
      state.searches++
      await ask('search', `search ${filter}`)
      const parsed = FilterParser.parseString(filter)
      const found = entries.filter((e) => matches(parsed, e))
      if (found.length === 0) return { kind: 'none' }
      if (found.length > 1) return { kind: 'ambiguous' }
      return { kind: 'found', entry: project(found[0]!, attributes) }
    },
    userDns: (parts) => cfg.dnTemplates.map((t) => renderTemplate(t, parts, escapeDnValue)),
    async readEntry(dn, attributes) {
      state.searches++
      await ask('read', `read ${dn}`)
      const e = byDn(dn)
      return e ? project(e, attributes) : null
    },
    async isMember(groupDn, memberDn, memberAttributes = ['member', 'uniqueMember']) {
      await ask('group check', `member ${groupDn} ${memberDn}`)
      const group = byDn(groupDn)
      return !!group && memberAttributes.some((a) => values(group, a).some((v) => dnEqual(v, memberDn)))
    },
    checkPassword: async (dn, password) => (await bind(dn, password, [])).ok,
    bindAndRead: bind,
    async close() {
      state.closed = true
    },
  }
  return { dir, state }
}
