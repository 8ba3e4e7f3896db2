import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { normaliseLogin } from '../../../lib/authn/login'
import { hasControlCharacters, hasUnsafeLoginCharacters, safeForLog } from '../../../lib/text'

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

  test('safeForLog neutralises line separators, NEL and other C1 controls, and bidi controls', () => {
    // U+2028/U+2029 and NEL end a line for some log readers; bidi controls reorder what a line shows.
    const unsafe = ['\u2028', '\u2029', '\u0085', '\u0080', '\u009b', '\u009f', '\u200e', '\u200f', '\u061c']
    const bidi = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069']
    for (const ch of [...unsafe, ...bidi]) {
      assert.equal(safeForLog(`a${ch}b`), '"a?b"', `U+${ch.codePointAt(0)!.toString(16)}`)
    }
    // "alice@example.com" shown reversed by an RLO would read as another login
    assert.equal(safeForLog('\u202emoc.elpmaxe@ecila'), '"?moc.elpmaxe@ecila"')
    const ordinary = 'j\u00f6rg \u05e9\u05dc\u05d5\u05dd \u{1F511}'
    assert.equal(safeForLog(ordinary), JSON.stringify(ordinary), 'ordinary text is kept')
  })

  test('refuses line separators and bidi controls in a login too', () => {
    for (const ch of ['\u2028', '\u0085', '\u202e', '\u2066', '\u200f']) {
      assert.deepEqual(normaliseLogin(`alice${ch}@example.com`), { ok: false, reason: 'control_characters' })
    }
  })

  test('a password refuses C0, DEL and C1; a login also line separators and bidi controls', () => {
    assert.equal(hasControlCharacters('\t'), true)
    assert.equal(hasControlCharacters('a\x7f'), true)
    assert.equal(hasControlCharacters('\x9f'), true)
    assert.equal(hasControlCharacters('\u200f\u2028 \u00a0'), false)
    assert.equal(hasUnsafeLoginCharacters('\u2028'), true)
    assert.equal(hasUnsafeLoginCharacters('alice@example.com'), false)
  })
})
