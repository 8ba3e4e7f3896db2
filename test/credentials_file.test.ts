import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { describe, test } from 'node:test'
import { parseLocalUsers, type LocalUsers } from '../lib/credentials/file'
import { sha512crypt } from '../lib/credentials/sha512crypt'

const REPO = path.resolve(__dirname, '../..')

function users(entries: Record<string, string>): LocalUsers {
  const r = parseLocalUsers({ main: {}, users: entries })
  if (!r.ok) throw new Error(r.errors.join('; '))
  return r.cfg
}

function msPer(fn: () => void, runs: number): number {
  const t = process.hrtime.bigint()
  for (let i = 0; i < runs; i++) fn()
  return Number(process.hrtime.bigint() - t) / 1e6 / runs
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

  test('an unknown login costs about what a known one costs (it is hashed against a dummy)', () => {
    const u = users({ 'a@example.com': sha512crypt('pw', { rounds: 20000 }), 'b@example.com': sha512crypt('pw', { rounds: 20000 }) })
    const known = msPer(() => u.verify('a@example.com', 'wrong'), 5)
    const unknown = msPer(() => u.verify('nobody@example.com', 'wrong'), 5)
    // Without the dummy hash an unknown login would take microseconds, not milliseconds.
    assert.ok(unknown > known * 0.5, `unknown ${unknown.toFixed(1)} ms vs known ${known.toFixed(1)} ms`)
    assert.ok(unknown < known * 2, `unknown ${unknown.toFixed(1)} ms vs known ${known.toFixed(1)} ms`)
  })

  test('a bad line is an error naming the login, never quoting the value', () => {
    const r = parseLocalUsers({ users: { 'svc@example.com': 'plaintext-secret', 'ok@example.com': sha512crypt('x', { rounds: 1000 }) } })
    assert.ok(!r.ok)
    assert.match(r.errors.join(), /\[users\] svc@example\.com: not a SHA512-crypt hash/)
    assert.doesNotMatch(r.errors.join(), /plaintext-secret/)
    const dup = parseLocalUsers({ users: { 'a@x.org': sha512crypt('x', { rounds: 1000 }), 'A@x.org': sha512crypt('y', { rounds: 1000 }) } })
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
    const r = spawnSync(process.execPath, [cli, '--login', 'svc@Example.COM', '--rounds', '1000'], { input: 'the-secret\n', encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    const m = /^(svc@example\.com)=(\$6\$rounds=1000\$[^$]{16}\$\S{86})\n$/.exec(r.stdout)
    assert.ok(m, r.stdout)
    const u = users({ [m[1]!]: m[2]! })
    assert.equal(u.verify('svc@example.com', 'the-secret'), 'OK')
    assert.equal(u.verify('svc@example.com', 'the-secret\n'), 'MISMATCH')
    assert.ok(!r.stdout.includes('the-secret'))
  })

  test('refuses a password on the command line, a missing login and an empty password', () => {
    const a = spawnSync(process.execPath, [cli, '--login', 'svc', '--password', 'x'], { input: 'x\n', encoding: 'utf8' })
    assert.equal(a.status, 2)
    assert.match(a.stderr, /never an argument/)
    assert.equal(spawnSync(process.execPath, [cli], { input: 'x\n', encoding: 'utf8' }).status, 2)
    const e = spawnSync(process.execPath, [cli, '--login', 'svc'], { input: '\n', encoding: 'utf8' })
    assert.equal(e.status, 2)
    assert.match(e.stderr, /empty password/)
    const k = spawnSync(process.execPath, [cli, '--login', "o'brien"], { input: 'x\n', encoding: 'utf8' })
    assert.equal(k.status, 2)
  })
})
