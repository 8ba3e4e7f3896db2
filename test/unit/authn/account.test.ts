import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  attributesFor,
  checkAccountState,
  filetimeToUnixMs,
  parseGeneralizedTime,
  type AccountPolicy,
} from '../../../lib/authn/account'

const OFF: AccountPolicy = {
  requireGroup: '',
  groupMembership: 'member',
  groupMemberAttributes: ['member', 'uniqueMember'],
  disabledAttribute: '',
  disabledValues: ['TRUE'],
  checkUserAccountControl: false,
  checkAccountExpires: false,
  checkPpolicyLock: false,
  ppolicyLockoutDuration: 0,
}
const entry = (attributes: Record<string, string[]>) => ({ attributes })
const NOW = Date.UTC(2030, 0, 1)
/** FILETIME of a Unix millisecond time */
const filetime = (ms: number) => String(BigInt(ms) * 10000n + 116444736000000000n)

describe('account state checks', () => {
  test('all off: nothing is read, anything passes', () => {
    assert.deepEqual(attributesFor(OFF), [])
    assert.deepEqual(checkAccountState(null, OFF), { ok: true })
  })

  test('a disabled attribute with one of the configured values (case-insensitive)', () => {
    const p = { ...OFF, disabledAttribute: 'employeeType', disabledValues: ['disabled', 'left'] }
    assert.deepEqual(attributesFor(p), ['employeeType'])
    assert.deepEqual(checkAccountState(entry({ employeetype: ['Disabled'] }), p), {
      ok: false,
      reason: 'account_disabled',
    })
    assert.deepEqual(checkAccountState(entry({ employeetype: ['staff'] }), p), { ok: true })
    assert.deepEqual(checkAccountState(entry({}), p), { ok: true })
  })

  test('userAccountControl: ACCOUNTDISABLE 0x2 and LOCKOUT 0x10', () => {
    const p = { ...OFF, checkUserAccountControl: true }
    assert.deepEqual(checkAccountState(entry({ useraccountcontrol: ['512'] }), p), { ok: true })
    assert.deepEqual(checkAccountState(entry({ useraccountcontrol: ['514'] }), p), {
      ok: false,
      reason: 'ad_account_disabled',
    })
    assert.deepEqual(checkAccountState(entry({ useraccountcontrol: ['528'] }), p), {
      ok: false,
      reason: 'ad_account_locked',
    })
    assert.deepEqual(
      checkAccountState(entry({ useraccountcontrol: ['66048'] }), p),
      { ok: true },
      'DONT_EXPIRE_PASSWORD alone',
    )
    // AD stores it as a signed 32-bit integer: high bits make it negative.
    assert.deepEqual(checkAccountState(entry({ useraccountcontrol: ['-2147483134'] }), p), {
      ok: false,
      reason: 'ad_account_disabled',
    })
    assert.deepEqual(checkAccountState(entry({ useraccountcontrol: ['lots'] }), p), {
      ok: false,
      reason: 'account_state_invalid',
    })
  })

  test('accountExpires: 0 and 2^63-1 never; a FILETIME in the past refuses', () => {
    const p = { ...OFF, checkAccountExpires: true }
    assert.equal(filetimeToUnixMs('0'), undefined)
    assert.equal(filetimeToUnixMs('9223372036854775807'), undefined)
    assert.equal(filetimeToUnixMs('116444736000000000'), 0)
    assert.equal(filetimeToUnixMs('132223104000000000'), Date.UTC(2020, 0, 1))
    assert.deepEqual(checkAccountState(entry({ accountexpires: ['0'] }), p, NOW), { ok: true })
    assert.deepEqual(checkAccountState(entry({ accountexpires: ['9223372036854775807'] }), p, NOW), {
      ok: true,
    })
    assert.deepEqual(checkAccountState(entry({ accountexpires: [filetime(NOW - 1000)] }), p, NOW), {
      ok: false,
      reason: 'account_expired',
    })
    assert.deepEqual(checkAccountState(entry({ accountexpires: [filetime(NOW + 86400000)] }), p, NOW), {
      ok: true,
    })
    assert.deepEqual(checkAccountState(entry({ accountexpires: ['soon'] }), p, NOW), {
      ok: false,
      reason: 'account_state_invalid',
    })
  })

  test('ppolicy pwdAccountLockedTime: permanent, until cleared, or for a duration', () => {
    const p = { ...OFF, checkPpolicyLock: true }
    assert.equal(parseGeneralizedTime('20291231235900Z'), Date.UTC(2029, 11, 31, 23, 59, 0))
    assert.equal(parseGeneralizedTime('20291231235900.5Z'), Date.UTC(2029, 11, 31, 23, 59, 0, 500))
    assert.equal(parseGeneralizedTime('202912312359+0100'), Date.UTC(2029, 11, 31, 22, 59))
    assert.equal(parseGeneralizedTime('yesterday'), null)
    assert.deepEqual(checkAccountState(entry({}), p, NOW), { ok: true })
    assert.deepEqual(checkAccountState(entry({ pwdaccountlockedtime: ['20291231235900Z'] }), p, NOW), {
      ok: false,
      reason: 'ppolicy_locked',
    })
    const timed = { ...p, ppolicyLockoutDuration: 600 }
    assert.deepEqual(
      checkAccountState(entry({ pwdaccountlockedtime: ['20291231235900Z'] }), timed, NOW + 3_600_000),
      { ok: true },
      'lock expired',
    )
    assert.deepEqual(
      checkAccountState(
        entry({ pwdaccountlockedtime: ['20291231235900Z'] }),
        timed,
        Date.UTC(2029, 11, 31, 23, 59, 30),
      ),
      { ok: false, reason: 'ppolicy_locked' },
    )
    assert.deepEqual(checkAccountState(entry({ pwdaccountlockedtime: ['000001010000Z'] }), timed, NOW), {
      ok: false,
      reason: 'ppolicy_locked',
    })
  })

  test('required group through memberOf, compared as DNs', () => {
    const p = {
      ...OFF,
      requireGroup: 'cn=Submitters,ou=groups,dc=example,dc=com',
      groupMembership: 'memberof' as const,
    }
    assert.deepEqual(attributesFor(p), ['memberOf'])
    assert.deepEqual(
      checkAccountState(entry({ memberof: ['CN=submitters, OU=Groups,DC=example,DC=com'] }), p),
      { ok: true },
    )
    assert.deepEqual(checkAccountState(entry({ memberof: ['cn=other,ou=groups,dc=example,dc=com'] }), p), {
      ok: false,
      reason: 'not_in_required_group',
    })
    assert.deepEqual(checkAccountState(entry({}), p), { ok: false, reason: 'not_in_required_group' })
    // The group check through the group entry is the directory's (isMember), not read from the user.
    assert.deepEqual(attributesFor({ ...p, groupMembership: 'member' }), [])
  })

  test('a check that is on fails closed when the entry could not be read', () => {
    assert.deepEqual(checkAccountState(null, { ...OFF, checkUserAccountControl: true }), {
      ok: false,
      reason: 'account_state_unreadable',
    })
  })

  test('the AD checks need their attribute: an entry without it (hidden by ACLs, or not AD) refuses, after any definite refusal', () => {
    const uac = { ...OFF, checkUserAccountControl: true }
    const expires = { ...OFF, checkAccountExpires: true }
    assert.deepEqual(checkAccountState(entry({}), uac), { ok: false, reason: 'account_state_unreadable' })
    assert.deepEqual(checkAccountState(entry({ accountexpires: ['0'] }), uac), {
      ok: false,
      reason: 'account_state_unreadable',
    })
    assert.deepEqual(checkAccountState(entry({}), expires, NOW), {
      ok: false,
      reason: 'account_state_unreadable',
    })
    assert.deepEqual(
      checkAccountState(
        entry({ useraccountcontrol: ['512'], accountexpires: ['0'] }),
        { ...uac, checkAccountExpires: true },
        NOW,
      ),
      { ok: true },
    )
    // A definite refusal is named even when another check's attribute is missing.
    const both = {
      ...uac,
      checkPpolicyLock: true,
      disabledAttribute: 'employeeType',
      disabledValues: ['disabled'],
    }
    assert.deepEqual(checkAccountState(entry({ pwdaccountlockedtime: ['000001010000Z'] }), both, NOW), {
      ok: false,
      reason: 'ppolicy_locked',
    })
    assert.deepEqual(checkAccountState(entry({ employeetype: ['disabled'] }), both, NOW), {
      ok: false,
      reason: 'account_disabled',
    })
    // The ppolicy lock and a disabled attribute are absent on a normal account: absence passes.
    assert.deepEqual(
      checkAccountState(
        entry({}),
        { ...OFF, checkPpolicyLock: true, disabledAttribute: 'employeeType' },
        NOW,
      ),
      { ok: true },
    )
  })
})
