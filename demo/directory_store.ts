// The demo directory's data: LDIF entries indexed by normalised DN, with what a search
// may show kept apart from the password a bind checks.
import { createHash, timingSafeEqual } from 'node:crypto'
import { parseDN } from 'ldapjs'
import { attributeValues, type LdifEntry } from './ldif'
import { foldAttributes, type FoldedAttributes } from './matching'

export interface StoredEntry {
  entry: LdifEntry
  /** Normalised DN: canonical spacing and escaping, lower case. */
  dn: string
  parent: string | undefined
  /** Searchable attributes, folded for matching. Never includes userPassword. */
  folded: FoldedAttributes
  passwordDigest: Buffer | undefined
}

export const SCOPE = { base: 0, one: 1, sub: 2 } as const

// Compared against when the DN is unknown, so a miss costs the same as a wrong password.
const UNUSABLE_DIGEST = digest('\u0000no such entry\u0000')

export class DirectoryStore {
  readonly entries: readonly StoredEntry[]
  private readonly byDn: Map<string, StoredEntry>

  constructor(entries: LdifEntry[]) {
    this.entries = entries.map(storeEntry)
    this.byDn = new Map(this.entries.map((e) => [e.dn, e]))
  }

  find(dn: string): StoredEntry | undefined {
    return this.byDn.get(normalizeDn(dn))
  }

  /** The entry when `password` is its userPassword; compared in constant time. */
  authenticate(dn: string, password: string): StoredEntry | undefined {
    const entry = this.find(dn)
    const expected = entry?.passwordDigest ?? UNUSABLE_DIGEST
    const matches = timingSafeEqual(expected, digest(password))
    return matches && entry?.passwordDigest !== undefined ? entry : undefined
  }

  /** Entries under `base` (already normalised) for an LDAP scope number. */
  inScope(base: string, scope: number): StoredEntry[] {
    return this.entries.filter((e) => {
      if (scope === SCOPE.base) return e.dn === base
      if (scope === SCOPE.one) return e.parent === base
      // canonical DNs escape commas inside values, so a bare comma always separates RDNs
      return e.dn === base || e.dn.endsWith(`,${base}`)
    })
  }
}

/** Canonical form for comparing DNs: ldapjs's rendering (no spaces around separators), lower case. */
export function normalizeDn(dn: string): string {
  return parseDN(dn).toString().toLowerCase()
}

function storeEntry(entry: LdifEntry): StoredEntry {
  const parsed = parseDN(entry.dn)
  const parent = parsed.parent()
  const visible = Object.fromEntries(
    Object.entries(entry.attributes).filter(([name]) => name.toLowerCase() !== 'userpassword'),
  )
  const password = attributeValues(entry, 'userPassword')[0]
  return {
    entry,
    dn: parsed.toString().toLowerCase(),
    parent: parent === null ? undefined : parent.toString().toLowerCase(),
    folded: foldAttributes(visible),
    passwordDigest: password === undefined ? undefined : digest(password),
  }
}

// Equal-length digests let timingSafeEqual compare passwords of any length.
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
