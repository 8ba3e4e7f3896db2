// An in-memory directory behind the AuthDirectory interface, configured by a
// real ldap_directory.ini configuration: search mode evaluates user_filter on
// the entries (equality, presence, and/or/not, multi-valued attributes, and an
// extensible match naming caseExactMatch), template mode binds to the DNs the
// dn_templates render. Values compare as caseIgnoreMatch does (case-folded,
// runs of white space collapsed) unless `caseExact`, as in a directory whose
// login attribute matches exactly. For unit tests of what ldap_auth makes of
// the entries a directory answers with; LDAP itself is tested against slapd.
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
import type { DirectoryConfig } from '../../lib/ldap/config'
import type { AuthDirectory, DirectoryEntry, Lookup } from '../../lib/ldap/types'
import { dnEqual } from '../../lib/ldap/dn'
import { escapeDnValue, escapeFilterValue } from '../../lib/ldap/escape'
import { renderTemplate } from '../../lib/ldap/template'

export interface FakeEntry {
  dn: string
  /** the entry's userPassword; no password: binds fail */
  password?: string
  /** attribute names in any case */
  attributes: Record<string, string[]>
}

export interface FakeDirectoryState {
  binds: string[]
  /** one line per search: the filter, or `base <dn>` for an entry read */
  searches: string[]
}

export function fakeDirectory(
  cfg: DirectoryConfig,
  entries: FakeEntry[],
  opts: { caseExact?: boolean } = {},
) {
  const state: FakeDirectoryState = { binds: [], searches: [] }
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

  const dir: AuthDirectory = {
    async findUser(parts, attributes): Promise<Lookup> {
      const filter = renderTemplate(cfg.userFilter, parts, escapeFilterValue)
      state.searches.push(filter)
      const parsed = FilterParser.parseString(filter)
      const found = entries.filter((e) => matches(parsed, e))
      if (found.length === 0) return { kind: 'none' }
      if (found.length > 1) return { kind: 'ambiguous' }
      return { kind: 'found', entry: project(found[0]!, attributes) }
    },
    userDns: (parts) => cfg.dnTemplates.map((t) => renderTemplate(t, parts, escapeDnValue)),
    async readEntry(dn, attributes) {
      state.searches.push(`base ${dn}`)
      const e = byDn(dn)
      return e ? project(e, attributes) : null
    },
    async isMember() {
      return false
    },
    async checkPassword(dn, password) {
      return (await dir.bindAndRead(dn, password, [])).ok
    },
    async bindAndRead(dn, password, attributes) {
      state.binds.push(dn)
      const e = byDn(dn)
      if (!e || e.password === undefined || e.password !== password || !password) return { ok: false }
      return { ok: true, entry: attributes.length ? project(e, attributes) : null }
    },
    async close() {},
  }
  return { dir, state }
}
