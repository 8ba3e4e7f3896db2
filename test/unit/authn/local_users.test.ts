import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { describe, test } from 'node:test'
import { makeLocalUsers, parseLocalUsers, type LocalUsers } from '../../../lib/authn/local_users'
import { parseHash, sha512crypt, type ParsedHash } from '../../../lib/authn/sha512crypt'
import { REPO } from '../../harness/paths'

function users(entries: Record<string, string>): LocalUsers {
  const r = parseLocalUsers({ main: {}, users: entries })
  if (!r.ok) throw new Error(r.errors.join('; '))
  return r.cfg
}

describe('auth_enc_file.ini [users]', () => {
  test('right password, wrong password, unknown login', () => {
    const u = users({ 'svc@example.com': sha512crypt('svc-pass', { rounds: 1000 }) })
    assert.equal(u.verify('svc@example.com', 'svc-pass'), 'OK')
    assert.equal(u.verify('svc@example.com', 'nope'), 'MISMATCH')
    assert.equal(u.verify('other@example.com', 'svc-pass'), 'UNKNOWN')
    assert.equal(u.has('svc@example.com'), true)
    assert.equal(u.has('other@example.com'), false)
  })

  test('logins compare case-insensitively; {SHA512-CRYPT} prefix and rounds= are honoured', () => {
    const u = users({ 'Svc@Example.com': `{SHA512-CRYPT}${sha512crypt('pw', { rounds: 2000 })}` })
    assert.equal(u.verify('svc@example.com', 'pw'), 'OK')
    assert.equal(u.verify('SVC@EXAMPLE.COM', 'pw'), 'OK')
  })

  test('an unknown login costs what a known one costs: one hash computation with the usual rounds and a full salt', () => {
    // The cost of SHA512-crypt is set by its rounds (and, a little, the salt length): count
    // the computations and their parameters instead of timing them on a shared machine.
    const hashes = new Map<string, ParsedHash>()
    for (const [login, rounds] of [
      ['a@example.com', 20000],
      ['b@example.com', 20000],
      ['c@example.com', 1000],
    ] as const) {
      hashes.set(login, parseHash(sha512crypt('pw', { rounds }))!)
    }
    const calls: { rounds: number; saltLength: number }[] = []
    const u = makeLocalUsers(hashes, (_password, hash) => {
      calls.push({ rounds: hash.rounds, saltLength: hash.salt.length })
      return false
    })
    assert.equal(u.verify('a@example.com', 'wrong'), 'MISMATCH')
    assert.equal(u.verify('nobody@example.com', 'wrong'), 'UNKNOWN')
    // Without the dummy entry the unknown login would compute nothing at all.
    assert.deepEqual(calls, [
      { rounds: 20000, saltLength: 16 },
      { rounds: 20000, saltLength: 16 },
    ])
    // And the real comparison answers the same for the dummy as for a wrong password.
    const real = users({ 'a@example.com': sha512crypt('pw', { rounds: 1000 }) })
    assert.equal(real.verify('nobody@example.com', 'pw'), 'UNKNOWN')
  })

  test('a bad line is an error naming the login, never quoting the value', () => {
    const r = parseLocalUsers({
      users: { 'svc@example.com': 'plaintext-secret', 'ok@example.com': sha512crypt('x', { rounds: 1000 }) },
    })
    assert.ok(!r.ok)
    assert.match(r.errors.join(), /\[users\] svc@example\.com: not a SHA512-crypt hash/)
    assert.doesNotMatch(r.errors.join(), /plaintext-secret/)
    const dup = parseLocalUsers({
      users: { 'a@x.org': sha512crypt('x', { rounds: 1000 }), 'A@x.org': sha512crypt('y', { rounds: 1000 }) },
    })
    assert.ok(!dup.ok)
    assert.match(dup.errors.join(), /listed twice/)
    const section = parseLocalUsers({ main: { key: 'v' } })
    assert.ok(!section.ok)
  })

  test('the shipped file has no users and parses', () => {
    const r = parseLocalUsers({ main: {}, users: {} })
    assert.ok(r.ok)
    assert.equal(r.cfg.size, 0)
    assert.equal(r.cfg.verify('anyone', 'x'), 'UNKNOWN')
  })
})

describe('npm run hash-password', () => {
  const cli = path.join(REPO, 'dist/bin/hash_password.js')

  test('prints a login=hash line for a password read from standard input', () => {
    const r = spawnSync(process.execPath, [cli, '--login', 'svc@Example.COM', '--rounds', '1000'], {
      input: 'the-secret\n',
      encoding: 'utf8',
    })
    assert.equal(r.status, 0, r.stderr)
    const m = /^(svc@example\.com)=(\$6\$rounds=1000\$[^$]{16}\$\S{86})\n$/.exec(r.stdout)
    assert.ok(m, r.stdout)
    const u = users({ [m[1]!]: m[2]! })
    assert.equal(u.verify('svc@example.com', 'the-secret'), 'OK')
    assert.equal(u.verify('svc@example.com', 'the-secret\n'), 'MISMATCH')
    assert.ok(!r.stdout.includes('the-secret'))
  })

  test('refuses a password on the command line, a missing login and an empty password', () => {
    const a = spawnSync(process.execPath, [cli, '--login', 'svc', '--password', 'x'], {
      input: 'x\n',
      encoding: 'utf8',
    })
    assert.equal(a.status, 2)
    assert.match(a.stderr, /never an argument/)
    assert.equal(spawnSync(process.execPath, [cli], { input: 'x\n', encoding: 'utf8' }).status, 2)
    const e = spawnSync(process.execPath, [cli, '--login', 'svc'], { input: '\n', encoding: 'utf8' })
    assert.equal(e.status, 2)
    assert.match(e.stderr, /empty password/)
    const k = spawnSync(process.execPath, [cli, '--login', "o'brien"], { input: 'x\n', encoding: 'utf8' })
    assert.equal(k.status, 2)
  })

  test('refuses a password AUTH refuses: control characters (TAB, ESC, NUL, CR) and invalid UTF-8', () => {
    const hash = (input: string | Buffer) =>
      spawnSync(process.execPath, [cli, '--login', 'svc', '--rounds', '1000'], { input, encoding: 'utf8' })
    for (const input of ['pass\tword\n', 'pass\x1b[Aword\n', 'pass\0word\n', 'pass\rword\n', 'pass\x7f\n']) {
      const r = hash(input)
      assert.equal(r.status, 2, JSON.stringify(input))
      assert.match(r.stderr, /control character/)
      assert.equal(r.stdout, '')
    }
    const bad = hash(Buffer.from([0x78, 0xff, 0x0a]))
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /not valid UTF-8/)
    const ok = hash('p\u00e4ss w\u00f6rd\n')
    assert.equal(ok.status, 0, ok.stderr)
  })
})
