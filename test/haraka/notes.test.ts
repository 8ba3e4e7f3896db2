// haraka/notes: every note our plugins read or write has one typed accessor there, and no
// plugin file touches connection.notes or transaction.notes itself (checked below).
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import type { Connection } from 'haraka'
import {
  authLogin,
  authMethod,
  authUser,
  countAuthFailure,
  dropAuthResultsClauses,
  noteAuthenticated,
  notePendingAuth,
  takePendingAuth,
} from '../../haraka/notes'
import { REPO } from '../harness/paths'

const fixtures = require('haraka-test-fixtures') as { connection: { createConnection(): any } }

/** The lines of plugins/ that use a notes object directly (comments left out). */
export function rawNotes(files: string[]): string[] {
  return files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line) && /\.notes\s*(\.|\[)/.test(line))
      .map((line) => `${path.relative(REPO, file)}: ${line.trim()}`),
  )
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name)
    if (statSync(full).isDirectory()) return sources(full)
    return name.endsWith('.ts') ? [full] : []
  })
}

describe('notes', () => {
  test('no plugin file reads or writes notes except through haraka/notes', () => {
    assert.deepEqual(rawNotes(sources(path.join(REPO, 'plugins'))), [])
  })
  test('the check finds a raw note (it can fail)', () => {
    const file = path.join(REPO, 'haraka', 'notes.ts')
    assert.ok(rawNotes([file]).length > 0)
  })
  test('ldap_auth: the authenticated session as auth_base leaves it, the login when proxied', () => {
    const c = fixtures.connection.createConnection() as Connection
    assert.equal(authUser(c), undefined)
    assert.equal(authMethod(c), undefined)
    noteAuthenticated(c, { user: 'alice', method: 'PLAIN' })
    assert.deepEqual(
      [c.notes.auth_user, c.notes.auth_method, c.notes.auth_login],
      ['alice', 'PLAIN', undefined],
    )
    assert.deepEqual([authUser(c), authMethod(c), authLogin(c)], ['alice', 'PLAIN', undefined])
    const p = fixtures.connection.createConnection() as Connection
    noteAuthenticated(p, { user: 'alice', method: 'LOGIN', login: 'mailer' })
    assert.deepEqual([authUser(p), authMethod(p), authLogin(p)], ['alice', 'LOGIN', 'mailer'])
  })
  test('ldap_auth: the failure count and the pending exchange', () => {
    const c = fixtures.connection.createConnection() as Connection
    assert.deepEqual([countAuthFailure(c), countAuthFailure(c)], [1, 2])
    assert.equal(c.notes.auth_fails, 2)
    assert.equal(takePendingAuth(c), undefined)
    const note = { pending: { mech: 'PLAIN' as const }, prompt: null }
    notePendingAuth(c, note)
    assert.equal(takePendingAuth(c), note)
    assert.equal(takePendingAuth(c), undefined, 'taken once')
  })
  test("auth_stamp: dropping clauses of the session's Authentication-Results", () => {
    const c = fixtures.connection.createConnection() as Connection
    dropAuthResultsClauses(c, () => true) // none yet: nothing to do
    c.notes.authentication_results = ['auth=pass smtp.auth=alice', 'spf=pass']
    dropAuthResultsClauses(c, (clause) => clause.startsWith('auth='))
    assert.deepEqual(c.notes.authentication_results, ['spf=pass'])
  })
})
