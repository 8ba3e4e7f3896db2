// "May this login use this sender address?" (Dovecot's authz question), from
// the addresses the directory lists for the login, the [send_as] groups it is
// a member of, and the sub-address rule. The comparison rule is lib/relay/address.
import type { DirectoryConfig } from '../ldap/config'
import type { Directory } from '../ldap/directory'
import { addressesOfValue } from '../ldap/addresses'
import { findLoginEntry } from '../ldap/login_entry'
import { canonicalAddress, withoutSubaddress } from './address'

export type Owned =
  | {
      kind: 'found'
      dn: string
      /** canonical forms of every listed address */
      addresses: ReadonlySet<string>
      /** the address to name in a Sender: header we add: the first listed, as written */
      primary: string | undefined
    }
  | { kind: 'no_entry' }

/** Kept for callers that compare one address: the canonical form, or the trimmed text when it is no address. */
export function normaliseAddress(address: string): string {
  return canonicalAddress(address) ?? address.trim().toLowerCase()
}

/** Owned addresses from an entry's attribute values, in `attributes` order. */
export function ownedFromEntry(dn: string, values: Record<string, string[]>, attributes: readonly string[]): Owned {
  const addresses = new Set<string>()
  let first: string | undefined
  let primary: string | undefined
  for (const attr of attributes) {
    for (const v of values[attr.toLowerCase()] ?? []) {
      const found = addressesOfValue(attr, v)
      const canonical = found && canonicalAddress(found.address)
      if (!found || !canonical) continue
      addresses.add(canonical)
      first ??= found.address
      if (found.primary) primary ??= found.address
    }
  }
  return { kind: 'found', dn, addresses, primary: primary ?? first }
}

/** The login's entry, found the way lib/ldap/login_entry finds it, and its address attributes. */
export async function lookupOwnedAddresses(
  dir: Directory,
  cfg: DirectoryConfig,
  login: string,
  attributes: readonly string[],
): Promise<Owned> {
  const found = await findLoginEntry(dir, cfg.mode, login, attributes)
  if (found.kind !== 'found') return { kind: 'no_entry' }
  return ownedFromEntry(found.entry.dn, found.entry.attributes, attributes)
}

export type Ownership = { owned: true; via: 'listed' | 'subaddress' | 'send_as'; group?: string } | { owned: false }

export interface OwnershipRule {
  subaddressSeparator: string
  /** canonical shared address -> group DN */
  sendAs: ReadonlyMap<string, string>
  /** is `dn` a member of `groupDn`? (cached per session by the caller) */
  isMember(groupDn: string): Promise<boolean>
}

/** Does the login (with `owned` addresses) own `address`? Async only for send-as group checks. */
export async function ownsAddress(owned: ReadonlySet<string>, address: string, rule: OwnershipRule): Promise<Ownership> {
  const canonical = canonicalAddress(address)
  if (!canonical) return { owned: false }
  const base = withoutSubaddress(canonical, rule.subaddressSeparator)
  if (owned.has(canonical)) return { owned: true, via: 'listed' }
  if (base && owned.has(base)) return { owned: true, via: 'subaddress' }
  for (const candidate of base ? [canonical, base] : [canonical]) {
    const group = rule.sendAs.get(candidate)
    if (group && (await rule.isMember(group))) return { owned: true, via: 'send_as', group }
  }
  return { owned: false }
}
