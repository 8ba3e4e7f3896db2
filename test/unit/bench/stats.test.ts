// The bench's statistics and its generated directory (bench/haraka).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { benchLdif, benchUsers, flatFileIni } from '../../../bench/haraka/directory'
import { median, percentile } from '../../../bench/haraka/stats'

describe('bench helpers', () => {
  test('percentile (nearest rank) and median', () => {
    const v = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10]
    assert.equal(percentile(v, 50), 5)
    assert.equal(percentile(v, 99), 10)
    assert.equal(percentile(v, 0), 1)
    assert.ok(Number.isNaN(percentile([], 50)))
    assert.equal(median([3, 1, 2]), 2)
    assert.equal(median([4, 1, 2, 3]), 2.5)
  })

  test('every 10th user is outside the group; flat_file lists every user', () => {
    const users = benchUsers(20)
    const ldif = benchLdif(users)
    assert.equal((ldif.match(/^member: /gm) ?? []).length, 18)
    assert.ok(!ldif.includes('member: uid=u00010,'))
    assert.ok(ldif.includes('member: uid=u00011,'))
    const ini = flatFileIni(users)
    assert.equal((ini.match(/@example\.com=/g) ?? []).length, 20)
  })
})
