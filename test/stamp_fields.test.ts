import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { authResultsValue, authservIdOf } from '../lib/stamp/auth_results'
import { fieldName, fieldValue, forgedFieldIndexes } from '../lib/stamp/fields'

const rule = { identityHeaders: new Set(['x-authenticated-user']), authservId: 'mail.example.com' }

describe('forgedFieldIndexes', () => {
  test('finds the identity header in any case, folded, or with space before the colon', () => {
    const fields = [
      'Subject: hi\n',
      'x-AUTHENTICATED-user: ceo@example.com\n',
      'X-Authenticated-User:\n\tceo@example.com\n',
      'X-Authenticated-User : ceo@example.com\n',
      'X-Authenticated-Username: not-ours\n',
    ]
    assert.deepEqual(forgedFieldIndexes(fields, rule), [1, 2, 3])
  })

  test('removes A-R claiming our authserv-id, keeps other servers\u2019 ones', () => {
    const fields = [
      'Authentication-Results: mail.example.com; auth=pass smtp.auth=ceo\n',
      'Authentication-Results: MAIL.EXAMPLE.COM 1; spf=pass\n',
      'Original-Authentication-Results: mail.example.com; auth=pass\n',
      'Authentication-Results: (comment) mail.example.com; dkim=pass\n',
      'Authentication-Results: mx.other.example; spf=pass\n',
      'Authentication-Results: mail.example.com.evil; auth=pass\n',
    ]
    assert.deepEqual(forgedFieldIndexes(fields, rule), [0, 1, 2, 3])
  })
})

describe('field helpers', () => {
  test('fieldName and fieldValue unfold and trim', () => {
    assert.equal(fieldName('X-A : b\n'), 'x-a')
    assert.equal(fieldValue('X-A:\n\tb\n c\n'), 'b c')
    assert.equal(fieldName('no colon here\n'), '')
  })
  test('authservIdOf', () => {
    assert.equal(authservIdOf('mail.example.com; auth=pass'), 'mail.example.com')
    assert.equal(authservIdOf(' Mail.Example.com 1 ; x'), 'mail.example.com')
    assert.equal(authservIdOf('mail.example.com'), 'mail.example.com')
  })
  test('authResultsValue quotes what is not a plain token or address', () => {
    assert.equal(authResultsValue('alice@example.com'), 'alice@example.com')
    assert.equal(authResultsValue('bob'), 'bob')
    assert.equal(authResultsValue('o"brien x'), '"o\\"brien x"')
    assert.equal(authResultsValue('a;b'), '"a;b"')
  })
})
