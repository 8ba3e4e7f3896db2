// lib/stamp/body: the stamp's body hash, its canonical form, and streaming in any chunks.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, test } from 'node:test'
import { BodyHasher, bodyHash, bodyOfRaw } from '../../../lib/stamp/body'

/** SHA-256 base64url of exactly these bytes: the canonical form, written out by hand. */
const sha = (canonical: string) => createHash('sha256').update(canonical, 'latin1').digest('base64url')

describe('canonical form', () => {
  test('an empty body is one CRLF; a last line without a line end gets one', () => {
    assert.equal(bodyHash(''), sha('\r\n'))
    assert.equal(bodyHash('\r\n\r\n'), sha('\r\n'))
    assert.equal(bodyHash('a'), sha('a\r\n'))
  })

  test('LF and CRLF line ends are the same; empty lines at the end do not count', () => {
    for (const body of ['a\r\nb\r\n', 'a\nb\n', 'a\r\nb', 'a\nb\r\n\r\n\r\n', 'a\r\nb\n\n']) {
      assert.equal(bodyHash(body), sha('a\r\nb\r\n'), JSON.stringify(body))
    }
  })

  test('everything else counts: leading and inner empty lines, trailing white space, bare CR', () => {
    assert.equal(bodyHash('\r\n\r\na\r\n'), sha('\r\n\r\na\r\n'))
    assert.equal(bodyHash('a\r\n\r\nb\r\n'), sha('a\r\n\r\nb\r\n'))
    assert.notEqual(bodyHash('a\r\n\r\nb\r\n'), bodyHash('a\r\nb\r\n'))
    assert.notEqual(bodyHash('a \r\n'), bodyHash('a\r\n'))
    assert.equal(bodyHash('a\rb\r\n'), sha('a\rb\r\n'))
    assert.notEqual(bodyHash('a\rb\r\n'), bodyHash('a\r\nb\r\n'), 'a bare CR is not a line end')
    assert.equal(bodyHash('a\r'), sha('a\r\r\n'))
    assert.equal(bodyHash('a\r\r\n'), sha('a\r\r\n'))
    assert.equal(bodyHash('\r'), sha('\r\r\n'))
    assert.equal(bodyHash('.a\r\n..b\r\n'), sha('.a\r\n..b\r\n'), 'no dot-stuffing is undone here')
  })

  test('bytes, not text: invalid UTF-8 is hashed as it is', () => {
    const a = Buffer.from([0x78, 0xff, 0x0d, 0x0a])
    const b = Buffer.from([0x78, 0xfe, 0x0d, 0x0a])
    assert.notEqual(bodyHash(a), bodyHash(b))
    assert.equal(bodyHash(a), createHash('sha256').update(a).digest('base64url'))
  })

  test('any chunking gives the same hash, a CRLF split included', () => {
    const samples = [
      'a\r\n\r\nb\rc\r\r\n\r\n\n\r\n',
      '\r\n\r\nx\r',
      'line one\r\nline two\n\nline\rthree\r\n\r\n',
    ]
    for (const sample of samples) {
      const whole = bodyHash(sample)
      const bytes = Buffer.from(sample)
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= bytes.length; j++) {
          const h = new BodyHasher()
            .update(bytes.subarray(0, i))
            .update(bytes.subarray(i, j))
            .update(bytes.subarray(j))
            .digest()
          assert.equal(h, whole, `${JSON.stringify(sample)} split at ${i},${j}`)
        }
      }
      const byByte = new BodyHasher()
      for (const b of bytes) byByte.update(Buffer.from([b]))
      assert.equal(byByte.digest(), whole)
    }
  })

  test('a hasher is used once', () => {
    const h = new BodyHasher()
    h.digest()
    assert.throws(() => h.digest(), /digest twice/)
    assert.throws(() => h.update(Buffer.from('x')), /update after digest/)
  })
})

describe('bodyOfRaw: the body of a saved message', () => {
  test('after the first empty line, CRLF or LF', () => {
    assert.equal(
      bodyOfRaw(Buffer.from('A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore\r\n')).toString(),
      'body\r\n\r\nmore\r\n',
    )
    assert.equal(bodyOfRaw(Buffer.from('A: 1\nB: 2\n\nbody\n')).toString(), 'body\n')
    assert.equal(bodyOfRaw(Buffer.from('A: 1\r\n\r\n')).toString(), '')
    assert.equal(bodyOfRaw(Buffer.from('A: 1\r\n')).toString(), '', 'no empty line: no body')
    assert.equal(bodyOfRaw(Buffer.from('\r\nbody\r\n')).toString(), 'body\r\n', 'no header at all')
  })
})
