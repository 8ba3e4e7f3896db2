// "May this login use this sender address?" (Dovecot's authz question), from
// the addresses the directory lists for the login, the [send_as] groups it is
// a member of, and the sub-address rule. The comparison rule is lib/mail/address.
import type { Lookup } from '../ldap/types'
import { addressesOfValue, pickPrimary } from '../ldap/addresses'
import { dnEqual } from '../ldap/dn'
import { canonicalAddress, withoutSubaddress } from '../mail/address'

export type Owned =
  | {
      kind: 'found'
      dn: string
      /** canonical forms of every listed address */
      addresses: ReadonlySet<string>
      /** the address to name in a Sender: header we add (lib/ldap/addresses pickPrimary), as written */
      primary: string | undefined
    }
  | { kind: 'no_entry' }

/** Owned addresses from an entry's attribute values, in `attributes` order. */
export function ownedFromEntry(
  dn: string,
  values: Record<string, string[]>,
  attributes: readonly string[],
): Owned {
  const addresses = new Set<string>()
  for (const attr of attributes) {
    for (const v of values[attr.toLowerCase()] ?? []) {
      const found = addressesOfValue(attr, v)
      const canonical = found && canonicalAddress(found.address)
      if (canonical) addresses.add(canonical)
    }
  }
  return { kind: 'found', dn, addresses, primary: pickPrimary(values, attributes) }
}

export type Ownership =
  | { owned: true; via: 'listed' | 'subaddress' | 'send_as'; group?: string }
  /** another_entry: it looks like a sub-address of the login's (or a send-as) address, but is another entry's address */
  | { owned: false; reason?: 'another_entry' }

export interface OwnershipRule {
  subaddressSeparator: string
  /** canonical shared address -> group DN */
  sendAs: ReadonlyMap<string, string>
  /** is `dn` a member of `groupDn`? (cached per session by the caller) */
  isMember(groupDn: string): Promise<boolean>
  /**
   * Is the full address (sub-address included) a directory address of an entry
   * other than the login's, or of several? Asked before a sub-address counts
   * (cached per session by the caller); a directory failure rejects.
   */
  claimedByAnotherEntry(canonical: string): Promise<boolean>
}

/**
 * Does the login (with `owned` addresses) own `address`? Async for send-as
 * group checks and for the sub-address rule: `john.smith@` is not john's
 * sub-address (separator `.`) when the directory has it for someone else.
 */
export async function ownsAddress(
  owned: ReadonlySet<string>,
  address: string,
  rule: OwnershipRule,
): Promise<Ownership> {
  const canonical = canonicalAddress(address)
  if (!canonical) return { owned: false }
  if (owned.has(canonical)) return { owned: true, via: 'listed' }
  const group = rule.sendAs.get(canonical)
  if (group && (await rule.isMember(group))) return { owned: true, via: 'send_as', group }
  const base = withoutSubaddress(canonical, rule.subaddressSeparator)
  if (!base) return { owned: false }
  let viaBase: Extract<Ownership, { owned: true }> | undefined
  if (owned.has(base)) viaBase = { owned: true, via: 'subaddress' }
  else {
    const baseGroup = rule.sendAs.get(base)
    if (baseGroup && (await rule.isMember(baseGroup)))
      viaBase = { owned: true, via: 'send_as', group: baseGroup }
  }
  if (!viaBase) return { owned: false }
  if (await rule.claimedByAnotherEntry(canonical)) return { owned: false, reason: 'another_entry' }
  return viaBase
}

/**
 * Is `address` a directory address of an entry other than `dn`, or of several?
 * Each lookup (the login lookup, the recipient filter) is asked in turn; an
 * entry with another DN, or an ambiguous answer, is a claim.
 */
export async function claimedByAnotherEntry(
  dn: string,
  lookups: ReadonlyArray<() => Promise<Lookup>>,
): Promise<boolean> {
  for (const lookup of lookups) {
    const found = await lookup()
    if (found.kind === 'ambiguous') return true
    if (found.kind === 'found' && !dnEqual(found.entry.dn, dn)) return true
  }
  return false
}
