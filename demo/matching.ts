// Case-insensitive filter matching on top of ldapjs's own `matches`. ldapjs compares values
// exactly and leaves RFC 4515 escapes (\2a) in values parsed from a filter string; the demo
// schema (uid, mail, cn) is caseIgnore, so both sides are unescaped and lower-cased first.
import {
  AndFilter,
  EqualityFilter,
  GreaterThanEqualsFilter,
  LessThanEqualsFilter,
  NotFilter,
  OrFilter,
  PresenceFilter,
  SubstringFilter,
  type parseFilter,
} from 'ldapjs'

export type Filter = ReturnType<typeof parseFilter>
/** Attribute names and values lower-cased, as the matcher expects them. */
export type FoldedAttributes = Record<string, string[]>

// The parts of @ldapjs/filter's classes that @types/ldapjs does not declare.
interface FilterNode {
  type: string
  attribute?: string
  value?: string
  initial?: string
  any?: string[]
  final?: string
  filter?: FilterNode
  filters?: FilterNode[]
}

export function foldAttributes(attributes: Record<string, string[]>): FoldedAttributes {
  const folded: FoldedAttributes = {}
  for (const [name, values] of Object.entries(attributes)) {
    const key = name.toLowerCase()
    folded[key] = [...(folded[key] ?? []), ...values.map((v) => v.toLowerCase())]
  }
  return folded
}

/** A predicate for folded entries. A filter ldapjs cannot evaluate (extensible) matches nothing. */
export function entryMatcher(filter: Filter): (entry: FoldedAttributes) => boolean {
  const folded = foldFilter(filter as unknown as FilterNode)
  return (entry) => {
    try {
      return folded.matches(entry)
    } catch {
      return false
    }
  }
}

function foldFilter(node: FilterNode): Filter {
  const attribute = (node.attribute ?? '').toLowerCase()
  switch (node.type) {
    case 'AndFilter':
      return new AndFilter({ filters: (node.filters ?? []).map(foldFilter) })
    case 'OrFilter':
      return new OrFilter({ filters: (node.filters ?? []).map(foldFilter) })
    case 'NotFilter':
      return new NotFilter({ filter: foldFilter(node.filter as FilterNode) })
    case 'PresenceFilter':
      return new PresenceFilter({ attribute })
    // No approximate matching rule here: like a directory without one, fall back to equality.
    case 'EqualityFilter':
    case 'ApproximateFilter':
      // `raw` rather than `value`: ldapjs refuses an empty `value`
      return new EqualityFilter({ attribute, raw: Buffer.from(foldValue(node.value)) } as never)
    case 'GreaterThanEqualsFilter':
      return new GreaterThanEqualsFilter({ attribute, value: foldValue(node.value) })
    case 'LessThanEqualsFilter':
      return new LessThanEqualsFilter({ attribute, value: foldValue(node.value) })
    case 'SubstringFilter':
      return new SubstringFilter({
        attribute,
        initial: foldValue(node.initial),
        any: (node.any ?? []).map(foldValue),
        final: foldValue(node.final),
      })
    default:
      return node as unknown as Filter
  }
}

function foldValue(value: string | undefined): string {
  return unescapeFilterValue(value ?? '').toLowerCase()
}

/** Turn RFC 4515 `\XX` escapes back into the bytes they stand for. */
export function unescapeFilterValue(text: string): string {
  if (!text.includes('\\')) return text
  const bytes: number[] = []
  for (let i = 0; i < text.length;) {
    const hex = text.slice(i + 1, i + 3)
    if (text[i] === '\\' && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16))
      i += 3
      continue
    }
    const char = String.fromCodePoint(text.codePointAt(i) ?? 0)
    bytes.push(...Buffer.from(char, 'utf8'))
    i += char.length
  }
  return Buffer.from(bytes).toString('utf8')
}
