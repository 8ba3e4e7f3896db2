// The session identity after a successful AUTH: the part of the login the
// directory matched, as the entry holds it, never text the directory ignored.
// With dn_template `uid=%l,...` the login alice@ceo.example binds as alice and
// the domain is never compared, so the identity is `alice`; with the default
// user_filter `(|(uid=%u)(mail=%u))` the whole login is compared, and the
// identity is the entry's own uid or mail value that matched it.
//
// At load, user_filter and the dn_templates are read for the comparisons they
// make with the login (an attribute and a value built from %u/%l/%d). After the
// bind, the comparisons the entry's values satisfy say which parts of the login
// the directory checked; in template mode every comparison of the template that
// bound holds (they are the DN). Imports nothing from Haraka.
import {
  AndFilter,
  EqualityFilter,
  ExtensibleFilter,
  FilterParser,
  NotFilter,
  OrFilter,
  type Filter,
} from 'ldapts'
import { normaliseLogin } from './login'
import { safeForLog } from '../text'
import type { DirectoryConfig } from '../ldap/config'
import type { DirectoryEntry } from '../ldap/types'
import { foldValue, parseDn } from '../ldap/dn'
import { escapeDnValue, escapeFilterValue } from '../ldap/escape'
import { loginParts, renderTemplate, type LoginParts, type Placeholder, type Token } from '../ldap/template'

/** Which parts of a login a comparison (or a whole filter) checks. */
interface Cover {
  local: boolean
  domain: boolean
}

/** `attribute` compared with a value built from the login, e.g. uid with %l, or mail with %l@example.com. */
interface Comparison {
  /** lower-cased, as DirectoryEntry attribute names are */
  attribute: string
  value: readonly Token[]
  covers: Cover
}

export interface IdentityRule {
  mode: 'search' | 'template'
  /** search mode: user_filter's equality comparisons with the login outside any NOT, in filter order */
  filter: readonly Comparison[]
  /** search mode: the parts of the login every match of user_filter compares (AND: either; OR: both branches) */
  filterCovers: Cover
  /** template mode: per dn_template, the attribute values of its DN built from the login */
  templates: readonly (readonly Comparison[])[]
  /** the attributes to read from the entry for the values it holds */
  attributes: readonly string[]
}

/** Why a right password gives no session identity: `authz(<reason>)`. */
export type IdentityProblem = 'ignored_login_text' | 'identity_unknown'

export type SessionIdentity =
  { ok: true; identity: string } | { ok: false; reason: IdentityProblem; detail: string }

const NONE: Cover = { local: false, domain: false }
// Noncharacters stand for the placeholders while a template is analysed; no config text holds them.
const MARK: Record<Placeholder, string> = { u: '\uFDD0', l: '\uFDD1', d: '\uFDD2' }
const MARKED: LoginParts = { u: MARK.u, l: MARK.l, d: MARK.d }
const PLACEHOLDER_OF = new Map<string, Placeholder>(
  Object.entries(MARK).map(([k, v]) => [v, k as Placeholder]),
)

const rules = new WeakMap<DirectoryConfig, IdentityRule>()

/** The identity rule of a directory configuration (compiled once per configuration object). */
export function identityRuleFor(cfg: DirectoryConfig): IdentityRule {
  let rule = rules.get(cfg)
  if (!rule) {
    rule = compileIdentityRule(cfg)
    rules.set(cfg, rule)
  }
  return rule
}

export function compileIdentityRule(
  cfg: Pick<DirectoryConfig, 'mode' | 'userFilter' | 'dnTemplates'>,
): IdentityRule {
  const filter: Comparison[] = []
  let filterCovers = NONE
  if (cfg.mode !== 'template' && cfg.userFilter.length && unmarked(cfg.userFilter)) {
    try {
      const rendered = renderTemplate(cfg.userFilter, MARKED, escapeFilterValue)
      filterCovers = walkFilter(FilterParser.parseString(rendered), false, filter)
    } catch {
      // Checked when the configuration loaded; a filter that cannot be read compares nothing we know.
    }
  }
  const templates = cfg.mode === 'template' ? cfg.dnTemplates.map(templateComparisons) : []
  const attributes = [...new Set([...filter, ...templates.flat()].map((c) => c.attribute))]
  return {
    mode: cfg.mode === 'template' ? 'template' : 'search',
    filter,
    filterCovers,
    templates,
    attributes,
  }
}

/** At load: a configuration that compares no part of a login exactly, or never its domain. */
export function identityNotes(rule: IdentityRule): { warnings: string[]; notes: string[] } {
  const source = rule.mode === 'template' ? 'dn_template' : 'user_filter'
  const comparisons = rule.mode === 'template' ? rule.templates : [rule.filter]
  const warnings: string[] = []
  const notes: string[] = []
  if (comparisons.some((cs) => cs.length === 0)) {
    warnings.push(
      `${source}: compares no part of the login exactly (only substring, ordering or presence filters, or under NOT): ` +
        'such a match gives no session identity and the AUTH is refused (authz(identity_unknown))',
    )
  }
  if (!comparisons.flat().some((c) => c.covers.domain)) {
    notes.push(
      `${source} never compares the domain of a login: the session identity of alice@any.domain is the entry's ` +
        `${rule.attributes.join('/') || 'value'} for alice, and a login whose domain holds white space or ";" is refused`,
    )
  }
  return { warnings, notes }
}

/** A template whose own text holds a marker cannot be analysed: it then compares nothing we know. */
function unmarked(tokens: readonly Token[]): boolean {
  return tokens.every((t) => t.kind === 'slot' || ![...t.text].some((ch) => PLACEHOLDER_OF.has(ch)))
}

function templateComparisons(tokens: readonly Token[]): Comparison[] {
  if (!unmarked(tokens)) return []
  try {
    return parseDn(renderTemplate(tokens, MARKED, escapeDnValue))
      .flat()
      .map((ava) => comparison(ava.type, ava.value))
      .filter((c): c is Comparison => c !== undefined)
  } catch {
    return []
  }
}

/** Collect the comparisons outside any NOT; return the parts every match is sure to have compared. */
function walkFilter(f: Filter, negated: boolean, out: Comparison[]): Cover {
  if (f instanceof AndFilter || f instanceof OrFilter) {
    const covers = f.filters.map((x) => walkFilter(x, negated, out))
    if (!covers.length) return NONE
    const pick = f instanceof AndFilter ? 'some' : 'every'
    return { local: covers[pick]((c) => c.local), domain: covers[pick]((c) => c.domain) }
  }
  if (f instanceof NotFilter) {
    walkFilter(f.filter, true, out)
    return NONE
  }
  let c: Comparison | undefined
  if (f instanceof EqualityFilter) c = comparison(f.attribute, String(f.value))
  // (uid:caseExactMatch:=%u) is an equality under a named rule; a dnAttributes match compares DN parts too.
  else if (f instanceof ExtensibleFilter && f.matchType && !f.dnAttributes)
    c = comparison(f.matchType, f.value)
  // Substring, ordering, approximate and presence filters do not check a login's text exactly.
  if (!c) return NONE
  if (!negated) out.push(c)
  return c.covers
}

function comparison(attribute: string, marked: string): Comparison | undefined {
  const value: Token[] = []
  let text = ''
  for (const ch of marked) {
    const name = PLACEHOLDER_OF.get(ch)
    if (!name) {
      text += ch
      continue
    }
    if (text) value.push({ kind: 'text', text })
    text = ''
    value.push({ kind: 'slot', name })
  }
  if (text) value.push({ kind: 'text', text })
  const slots = new Set(value.flatMap((t) => (t.kind === 'slot' ? [t.name] : [])))
  if (!slots.size) return undefined
  const covers = { local: slots.has('u') || slots.has('l'), domain: slots.has('u') || slots.has('d') }
  return { attribute: attribute.toLowerCase(), value, covers }
}

/**
 * The identity of `login` (normalised) whose entry is `found`: `entry` with the
 * rule's attributes as read (null when unreadable) and, in template mode, the
 * index of the dn_template that bound (or that names the entry). Without a rule
 * (callers that test the directory layer alone) the login itself.
 */
export function sessionIdentity(
  rule: IdentityRule | undefined,
  login: string,
  found: { entry: DirectoryEntry | null; template?: number },
): SessionIdentity {
  if (!rule) return { ok: true, identity: login }
  const parts = loginParts(login)
  const template = rule.mode === 'template'
  const comparisons = template ? (rule.templates[found.template ?? 0] ?? []) : rule.filter
  // Each comparison that holds, with the entry's value for it (first) and the login's text it compared.
  const held: { covers: Cover; values: string[] }[] = []
  for (const c of comparisons) {
    const compared = renderTemplate(c.value, parts, (v) => v)
    const stored = (found.entry?.attributes[c.attribute] ?? []).find(
      (v) => foldValue(v) === foldValue(compared),
    )
    // In template mode the bound DN holds each value even when the entry could not be read.
    if (stored !== undefined || template)
      held.push({ covers: c.covers, values: [stored ?? compared, compared] })
  }
  // Search mode: what the filter compares in every match counts too (its AND parts, and all of
  // it when the entry's values could not be read).
  const covers = union([...held.map((h) => h.covers), template ? NONE : rule.filterCovers])
  const ignored = ignoredText(login, covers)
  const whole = held.find((h) => h.covers.local && h.covers.domain)
  let candidates: string[]
  if (whole) candidates = whole.values
  else if (covers.local && covers.domain) candidates = [login]
  else if (covers.local) candidates = [...(held.find((h) => h.covers.local)?.values ?? []), parts.l]
  else if (covers.domain) candidates = [...(held.find((h) => h.covers.domain)?.values ?? []), parts.d]
  else candidates = []
  // A value the entry holds becomes a header value: it must be a valid login (no controls, bounded).
  const identity = candidates.map(normaliseLogin).find((n) => n.ok)
  if (!identity?.ok) {
    return {
      ok: false,
      reason: 'identity_unknown',
      detail: 'no exact comparison with the login matched the entry',
    }
  }
  if (/[\s;]/u.test(ignored)) {
    const detail = `the directory matched only ${safeForLog(identity.login)}, not ${safeForLog(ignored)}`
    return { ok: false, reason: 'ignored_login_text', detail }
  }
  return { ok: true, identity: identity.login }
}

function union(covers: Cover[]): Cover {
  return { local: covers.some((c) => c.local), domain: covers.some((c) => c.domain) }
}

/** The text of the login that no comparison checked: the domain (with its @), the local part, both, or ''. */
function ignoredText(login: string, covers: Cover): string {
  const at = login.lastIndexOf('@')
  if (at < 0) return covers.local ? '' : login
  return (covers.local ? '' : login.slice(0, at)) + (covers.domain ? '' : login.slice(at))
}
