import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { normaliseLogin, safeForLog } from '../lib/auth/login'

describe('normaliseLogin', () => {
  test('trims and lower-cases only the domain', () => {
    assert.deepEqual(normaliseLogin('  Alice@EXAMPLE.com '), { ok: true, login: 'Alice@example.com' })
  })

  test('NFC-normalises so both spellings of é are one login', () => {
    const decomposed = 'ze\u0301'
    const r = normaliseLogin(decomposed)
    assert.equal(r.ok && r.login, 'z\u00e9')
  })

  test('refuses empty, control characters and over-long logins', () => {
    assert.deepEqual(normaliseLogin('   '), { ok: false, reason: 'empty_login' })
    assert.deepEqual(normaliseLogin('a\0b'), { ok: false, reason: 'control_characters' })
    assert.deepEqual(normaliseLogin('a\r\nb'), { ok: false, reason: 'control_characters' })
    assert.deepEqual(normaliseLogin('x'.repeat(257)), { ok: false, reason: 'login_too_long' })
    assert.equal(normaliseLogin('x'.repeat(256)).ok, true)
  })

  test('safeForLog quotes, bounds and defangs', () => {
    assert.equal(safeForLog('a\nb'), '"a?b"')
    assert.equal(safeForLog('y'.repeat(200)).length, 82)
  })
})
