// A tiny declarative schema for ini sections: one place holds each key's type,
// default and limits, so parsing, the shipped ini and the README can be checked
// against the same source (see test/unit/config/docs.test.ts).

export type FieldSpec =
  | { type: 'string'; default: string; pattern?: RegExp; hint?: string }
  | { type: 'secret'; default: string }
  | { type: 'int'; default: number; min: number; max: number }
  | { type: 'bool'; default: boolean }
  | { type: 'enum'; default: string; values: readonly string[] }
  | { type: 'list'; default: readonly string[]; item?: RegExp; hint?: string }
  /** Values that may contain commas (DN templates): `key[]=v` lines (an array), or a single `key=v`. */
  | { type: 'multi'; default: readonly string[] }

export type SectionSpec = Record<string, FieldSpec>

type ValueOf<F extends FieldSpec> = F extends { type: 'int' }
  ? number
  : F extends { type: 'bool' }
    ? boolean
    : F extends { type: 'list' | 'multi' }
      ? readonly string[]
      : string

export type SectionValues<S extends SectionSpec> = { readonly [K in keyof S]: ValueOf<S[K]> }

export type Parsed<T> = { ok: true; cfg: T } | { ok: false; errors: string[] }

/** An ini file's values as written: `{section: {key: text | text[]}}`, keys before any section in `main`. */
export type RawIni = Record<string, Record<string, string | string[]>>

/**
 * One ini file a plugin reads: its name, the keys haraka-config must read as
 * booleans (its cache key), and the parser. Beside each parser; the plugins load
 * it through haraka/load_config, bin/ tools through lib/config/read_dir.
 */
export interface IniFile<T> {
  readonly name: string
  readonly booleans: readonly string[]
  parse(raw: Record<string, any>): Parsed<T>
}

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * Read ini text with haraka-config's syntax (its ini reader's comment, section,
 * continuation, `key=value` and `key[]=value` rules) but keep every value as the
 * text written. haraka-config turns `007123` into the number 7123 and, for a
 * declared boolean, any text it does not know (`ture`) into false; the schema
 * must see the text to keep a secret exact and to refuse a typo.
 */
export function parseIniText(text: string): RawIni {
  const result: RawIni = Object.create(null)
  result.main = Object.create(null)
  let section = result.main!
  let pending = ''
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (/^\s*[;#]/.test(line) || /^\s*$/.test(line)) continue
    const header = /^\s*\[([^\]]*)\]\s*$/.exec(line)
    if (header) {
      const name = header[1]!.trim()
      section = UNSAFE_KEYS.has(name) ? Object.create(null) : (result[name] ??= Object.create(null))
      continue
    }
    if (/\\[ \t]*$/.test(line)) {
      pending += line.replace(/\\[ \t]*$/, '')
      continue
    }
    const m = /^\s*([\w@:._+\-/[\]]+)\s*(?:=\s*(.*?)\s*)?$/.exec(pending + line)
    pending = ''
    if (!m) continue
    const isArray = /^(.+)\[\]$/.test(m[1]!)
    const key = isArray ? m[1]!.replace('[]', '') : m[1]!
    if (UNSAFE_KEYS.has(key)) continue
    const value = m[2] ?? ''
    if (!isArray) section[key] = value
    else {
      const list = section[key]
      if (Array.isArray(list)) list.push(value)
      else section[key] = [value]
    }
  }
  return result
}

/** haraka-config's merge of a defaults file and an overrides file: key by key, the later file wins. */
export function mergeRawIni(...files: RawIni[]): RawIni {
  const out: RawIni = Object.create(null)
  for (const file of files) {
    for (const [name, values] of Object.entries(file))
      Object.assign((out[name] ??= Object.create(null)), values)
  }
  return out
}

/**
 * Haraka's `booleans` option list for config.get, derived from the spec. The
 * loader (haraka/load_config) reads the values again as text, so a
 * declared boolean never silently becomes false.
 */
export function booleanKeys(section: string, spec: SectionSpec): string[] {
  return Object.entries(spec)
    .filter(([, f]) => f.type === 'bool')
    .map(([k, f]) => `${f.default ? '+' : '-'}${section}.${k}`)
}

/** The descriptor of an ini file whose booleans are the boolean keys of its main section. */
export function iniFile<T>(
  name: string,
  mainSpec: SectionSpec,
  parse: (raw: Record<string, any>) => Parsed<T>,
): IniFile<T> {
  return { name, booleans: booleanKeys('main', mainSpec), parse }
}

/** Parse one ini section; unknown keys are errors too (a typo must not silently become a default). */
export function parseSection<S extends SectionSpec>(
  name: string,
  raw: Record<string, unknown> | undefined,
  spec: S,
  errors: string[],
): SectionValues<S> {
  const out: Record<string, unknown> = {}
  const given = raw ?? {}
  for (const key of Object.keys(given)) {
    if (!(key in spec)) errors.push(`[${name}] ${key}: unknown option`)
  }
  for (const [key, field] of Object.entries(spec)) {
    const value = given[key]
    const where = `[${name}] ${key}`
    // An empty `key=` is the same as leaving the key out: the default applies.
    out[key] = value === undefined || value === '' ? field.default : coerce(field, value, where, errors)
  }
  return out as SectionValues<S>
}

function coerce(field: FieldSpec, value: unknown, where: string, errors: string[]): unknown {
  switch (field.type) {
    case 'string': {
      const s = String(value).trim()
      if (field.pattern && !field.pattern.test(s)) {
        errors.push(`${where}: ${JSON.stringify(s)} is not ${field.hint ?? 'valid'}`)
        return field.default
      }
      return s
    }
    case 'secret':
      // A secret is the exact text written. A number here means a reader parsed it (`007` would be 7).
      if (typeof value !== 'string') {
        errors.push(
          `${where}: was read as a ${typeof value}, not as the text written; this loader must read it as text`,
        )
        return field.default
      }
      return value
    case 'int': {
      const n = typeof value === 'number' ? value : Number(String(value).trim())
      if (!Number.isInteger(n) || n < field.min || n > field.max) {
        errors.push(
          `${where}: ${JSON.stringify(value)} is not a whole number from ${field.min} to ${field.max}`,
        )
        return field.default
      }
      return n
    }
    case 'bool': {
      if (typeof value === 'boolean') return value
      const s = String(value).trim().toLowerCase()
      if (['true', 'yes', 'on', '1'].includes(s)) return true
      if (['false', 'no', 'off', '0'].includes(s)) return false
      errors.push(`${where}: ${JSON.stringify(value)} is not true or false`)
      return field.default
    }
    case 'enum': {
      const s = String(value).trim().toLowerCase()
      if (!field.values.includes(s)) {
        errors.push(`${where}: ${JSON.stringify(value)} is not one of ${field.values.join(', ')}`)
        return field.default
      }
      return s
    }
    case 'list': {
      const items = String(value)
        .split(/[\s,]+/)
        .map((s) => s.trim())
        .filter(Boolean)
      for (const item of items) {
        if (field.item && !field.item.test(item)) {
          errors.push(`${where}: ${JSON.stringify(item)} is not ${field.hint ?? 'valid'}`)
          return field.default
        }
      }
      return Object.freeze(items)
    }
    case 'multi': {
      const items = (Array.isArray(value) ? value : [value]).map((v) => String(v).trim()).filter(Boolean)
      return Object.freeze(items.length ? items : [...field.default])
    }
  }
}

/** Parse a file whose options all live in [main]; `check` adds cross-field errors. */
export function parseMainSection<S extends SectionSpec, T extends SectionValues<S>>(
  raw: Record<string, any>,
  spec: S,
  build: (main: SectionValues<S>, errors: string[]) => T = (main) => main as T,
): Parsed<T> {
  const errors: string[] = []
  for (const section of Object.keys(raw)) {
    if (section !== 'main') errors.push(`[${section}]: unknown section`)
  }
  const cfg = build(parseSection('main', raw.main, spec, errors), errors)
  if (errors.length) return { ok: false, errors }
  return { ok: true, cfg: Object.freeze(cfg) }
}
