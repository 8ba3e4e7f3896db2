import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, test } from 'node:test'
import { clampRounds, parseHash, sha512crypt, verifyParsed } from '../../../lib/authn/sha512crypt'

// Ulrich Drepper, "Unix crypt using SHA-256 and SHA-512", the SHA-512 test vectors.
const DREPPER: [string, string, string][] = [
  [
    '$6$saltstring',
    'Hello world!',
    '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
  ],
  [
    '$6$rounds=10000$saltstringsaltstring',
    'Hello world!',
    '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
  ],
  [
    '$6$rounds=5000$toolongsaltstring',
    'This is just a test',
    '$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0',
  ],
  [
    '$6$rounds=1400$anotherlongsaltstring',
    'a very much longer text to encrypt.  This one even stretches over morethan one line.',
    '$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1',
  ],
  [
    '$6$rounds=77777$short',
    'we have a short salt string but not a short password',
    '$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0',
  ],
  [
    '$6$rounds=123456$asaltof16chars..',
    'a short string',
    '$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1',
  ],
  [
    '$6$rounds=10$roundstoolow',
    'the minimum number is still observed',
    '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.',
  ],
]

function settings(spec: string): { salt: string; rounds?: number } {
  const m = /^\$6\$(?:rounds=(\d+)\$)?(.*)$/.exec(spec)!
  return { salt: m[2]!, ...(m[1] ? { rounds: Number(m[1]) } : {}) }
}

describe('SHA512-crypt', () => {
  test("Drepper's published test vectors", () => {
    for (const [spec, password, expected] of DREPPER)
      assert.equal(sha512crypt(password, settings(spec)), expected, spec)
  })

  test('agrees with openssl passwd -6, including 64-byte and UTF-8 passwords', (t) => {
    const probe = spawnSync('openssl', ['version'])
    if (probe.status !== 0) return t.skip('openssl not installed')
    const cases = [
      ['abcdefgh', 'p'],
      ['saltsaltsalt', 'x'.repeat(64)],
      ['saltsaltsalt', 'y'.repeat(65)],
      ['Ab9./', 'x'.repeat(128)],
      ['0123456789abcdef', 'pässwörd-李'],
    ]
    for (const [salt, pw] of cases) {
      const r = spawnSync('openssl', ['passwd', '-6', '-salt', salt!, '-stdin'], {
        input: `${pw}\n`,
        encoding: 'utf8',
      })
      assert.equal(r.status, 0, r.stderr)
      assert.equal(
        sha512crypt(pw!, { salt: salt! }),
        r.stdout.trim(),
        `salt ${salt}, password of ${pw!.length} chars`,
      )
    }
    const r = spawnSync('openssl', ['passwd', '-6', '-salt', 'rounds=2000$abc', '-stdin'], {
      input: 'pw\n',
      encoding: 'utf8',
    })
    if (r.status === 0 && r.stdout.startsWith('$6$rounds='))
      assert.equal(sha512crypt('pw', { salt: 'abc', rounds: 2000 }), r.stdout.trim())
  })

  test('rounds are clamped to 1000..999999999', () => {
    assert.equal(clampRounds(10), 1000)
    assert.equal(clampRounds(5000), 5000)
    assert.equal(clampRounds(2e9), 999999999)
    assert.equal(parseHash(DREPPER[6]![2])?.rounds, 1000)
  })

  test('parseHash accepts the {SHA512-CRYPT} prefix and refuses other schemes', () => {
    const h = DREPPER[0]![2]
    assert.deepEqual(parseHash(`{SHA512-CRYPT}${h}`), parseHash(h))
    assert.equal(parseHash(h)?.rounds, 5000)
    assert.equal(parseHash(h)?.explicitRounds, false)
    for (const bad of [
      '',
      'plain',
      '$5$salt$abc',
      '$1$salt$abc',
      `${h}x`,
      h.slice(0, -1),
      '{SSHA}abc',
      '$6$salt$',
    ]) {
      assert.equal(parseHash(bad), null, bad)
    }
  })

  test('verifyParsed: right, wrong, and a differently-salted hash', () => {
    const h = parseHash(sha512crypt('s3cret', { rounds: 1000 }))!
    assert.equal(verifyParsed('s3cret', h), true)
    assert.equal(verifyParsed('s3cret ', h), false)
    assert.equal(verifyParsed('', h), false)
    assert.notEqual(sha512crypt('s3cret'), sha512crypt('s3cret'), 'random salts differ')
  })
})
