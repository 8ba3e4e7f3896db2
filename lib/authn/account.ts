// "May this account log in at all?" — checked after the password is known to
// be right, over the attributes of the user's entry (read in the same search
// as the lookup in search mode, or by the user after the bind in template
// mode). Pure logic; the group check through a group entry's member list needs
// the directory and is done by the caller (see needsGroupEntryCheck).
// Every check is off unless configured. A check that is on and cannot decide
// (unreadable entry, value that does not parse) refuses: it fails closed. For
// the Active Directory checks that includes a missing attribute: AD gives every
// user object userAccountControl and accountExpires, so an entry without them is
// one whose ACLs hide them (or not an AD account), never a pass. A missing
// ppolicy lock or disabled attribute is the normal "not locked" state and
// cannot be told from a hidden one: read those with an account that may see them.
import { dnEqual } from '../ldap/dn'

export interface AccountPolicy {
  /** DN of a group the user must belong to; '' = no group required */
  requireGroup: string
  /** 'member': the group entry lists the user (member/uniqueMember); 'memberof': the user's memberOf lists the group */
  groupMembership: 'member' | 'memberof'
  groupMemberAttributes: readonly string[]
  /** attribute whose value marks a disabled account; '' = off */
  disabledAttribute: string
  /** values of disabledAttribute that mean "disabled", compared case-insensitively */
  disabledValues: readonly string[]
  /** Active Directory userAccountControl: ACCOUNTDISABLE (0x2) and LOCKOUT (0x10) refuse */
  checkUserAccountControl: boolean
  /** Active Directory accountExpires (FILETIME; 0 and 2^63-1 mean never) */
  checkAccountExpires: boolean
  /** OpenLDAP ppolicy pwdAccountLockedTime */
  checkPpolicyLock: boolean
  /** seconds a ppolicy lock lasts (pwdLockoutDuration); 0 = until an administrator clears it */
  ppolicyLockoutDuration: number
}

export type AccountRefusal =
  | 'account_disabled'
  | 'ad_account_disabled'
  | 'ad_account_locked'
  | 'account_expired'
  | 'ppolicy_locked'
  | 'not_in_required_group'
  | 'account_state_unreadable'
  | 'account_state_invalid'

export type AccountVerdict = { ok: true } | { ok: false; reason: AccountRefusal }

const UF_ACCOUNTDISABLE = 0x2n
const UF_LOCKOUT = 0x10n
const FILETIME_NEVER = 0x7fffffffffffffffn
/** 100-ns intervals between 1601-01-01 and 1970-01-01 */
const FILETIME_UNIX_EPOCH = 116444736000000000n
const PPOLICY_PERMANENT = '000001010000Z'

/** Attributes the checks read from the user's entry ([] when no check needs the entry). */
export function attributesFor(p: AccountPolicy): string[] {
  const attrs: string[] = []
  if (p.disabledAttribute) attrs.push(p.disabledAttribute)
  if (p.checkUserAccountControl) attrs.push('userAccountControl')
  if (p.checkAccountExpires) attrs.push('accountExpires')
  if (p.checkPpolicyLock) attrs.push('pwdAccountLockedTime')
  if (p.requireGroup && p.groupMembership === 'memberof') attrs.push('memberOf')
  return attrs
}

/** True when the required group is checked on the group entry (a directory search the caller runs). */
export function needsGroupEntryCheck(p: AccountPolicy): boolean {
  return Boolean(p.requireGroup) && p.groupMembership === 'member'
}

function values(attributes: Record<string, string[]>, name: string): string[] {
  return attributes[name.toLowerCase()] ?? []
}

/** Windows FILETIME (100 ns since 1601-01-01 UTC) to Unix milliseconds; undefined for "never". */
export function filetimeToUnixMs(value: string): number | undefined | null {
  if (!/^-?\d+$/.test(value.trim())) return null
  const ft = BigInt(value.trim())
  if (ft === 0n || ft === FILETIME_NEVER) return undefined
  return Number((ft - FILETIME_UNIX_EPOCH) / 10000n)
}

/** RFC 4517 GeneralizedTime (the forms directories write: YYYYMMDDHHMM[SS][.fff](Z|±hhmm)) to Unix ms. */
export function parseGeneralizedTime(value: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{4})$/.exec(value.trim())
  if (!m) return null
  const [, y, mo, d, h, mi, s = '0', frac = '0', zone] = m
  let ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s, Math.round(Number(`0.${frac}`) * 1000))
  if (zone !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1
    ms -= sign * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(3, 5))) * 60000
  }
  return Number.isNaN(ms) ? null : ms
}

/**
 * The account-state checks of `p` over the entry's attributes (lower-cased
 * names). `entry` null means the attributes could not be read.
 */
export function checkAccountState(
  entry: { attributes: Record<string, string[]> } | null,
  p: AccountPolicy,
  now: number = Date.now(),
): AccountVerdict {
  if (!attributesFor(p).length) return { ok: true }
  if (!entry) return { ok: false, reason: 'account_state_unreadable' }
  const a = entry.attributes

  if (p.disabledAttribute) {
    const disabled = new Set(p.disabledValues.map((v) => v.toLowerCase()))
    if (values(a, p.disabledAttribute).some((v) => disabled.has(v.trim().toLowerCase()))) {
      return { ok: false, reason: 'account_disabled' }
    }
  }

  // Definite refusals first, so the log names the real reason when there is one.
  let missing = false
  if (p.checkUserAccountControl) {
    missing ||= values(a, 'userAccountControl').length === 0
    for (const v of values(a, 'userAccountControl')) {
      if (!/^-?\d+$/.test(v.trim())) return { ok: false, reason: 'account_state_invalid' }
      const flags = BigInt(v.trim())
      if (flags & UF_ACCOUNTDISABLE) return { ok: false, reason: 'ad_account_disabled' }
      if (flags & UF_LOCKOUT) return { ok: false, reason: 'ad_account_locked' }
    }
  }

  if (p.checkAccountExpires) {
    missing ||= values(a, 'accountExpires').length === 0
    for (const v of values(a, 'accountExpires')) {
      const at = filetimeToUnixMs(v)
      if (at === null) return { ok: false, reason: 'account_state_invalid' }
      if (at !== undefined && now >= at) return { ok: false, reason: 'account_expired' }
    }
  }

  if (p.checkPpolicyLock) {
    for (const v of values(a, 'pwdAccountLockedTime')) {
      if (v.trim() === PPOLICY_PERMANENT || p.ppolicyLockoutDuration === 0)
        return { ok: false, reason: 'ppolicy_locked' }
      const lockedAt = parseGeneralizedTime(v)
      if (lockedAt === null) return { ok: false, reason: 'ppolicy_locked' }
      if (now < lockedAt + p.ppolicyLockoutDuration * 1000) return { ok: false, reason: 'ppolicy_locked' }
    }
  }

  if (p.requireGroup && p.groupMembership === 'memberof') {
    if (!values(a, 'memberOf').some((dn) => dnEqual(dn, p.requireGroup))) {
      return { ok: false, reason: 'not_in_required_group' }
    }
  }
  if (missing) return { ok: false, reason: 'account_state_unreadable' }
  return { ok: true }
}
