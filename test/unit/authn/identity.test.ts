// lib/authn/identity: which part of a login user_filter / dn_template compare, and the
// session identity an entry gives it.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  compileIdentityRule,
  identityNotes,
  identityRuleFor,
  sessionIdentity,
} from '../../../lib/authn/identity'
import { parseDirectoryConfig, type DirectoryConfig } from '../../../lib/ldap/config'

function directory(main: Record<string, unknown>): DirectoryConfig {
  const r = parseDirectoryConfig({
    main: { base_dn: 'dc=example,dc=com', bind_dn: 'cn=x', bind_password: 'x', ...main },
  })
  if (!r.ok) throw new Error(r.errors.join('; '))
  return r.cfg
}
const rule = (main: Record<string, unknown>) => compileIdentityRule(directory(main))
const entry = (attributes: Record<string, string[]>) => ({
  dn: 'uid=alice,ou=people,dc=example,dc=com',
  attributes,
})

describe('what user_filter and dn_template compare', () => {
  test('the comparisons with the login, outside NOT, and the parts every match compares', () => {
    const d = rule({})
    assert.deepEqual(d.attributes, ['uid', 'mail'])
    assert.deepEqual(d.filterCovers, { local: true, domain: true })
    const ad = rule({ user_filter: '(&(objectClass=user)(|(sAMAccountName=%l)(userPrincipalName=%u)))' })
    assert.deepEqual(ad.attributes, ['samaccountname', 'userprincipalname'])
    assert.deepEqual(
      ad.filterCovers,
      { local: true, domain: false },
      'an OR is sure only of what both branches compare',
    )
    const and = rule({ user_filter: '(&(uid=%l)(associatedDomain=%d))' })
    assert.deepEqual(and.filterCovers, { local: true, domain: true }, 'an AND compares what either part does')
    const not = rule({ user_filter: '(&(uid=%l)(!(mail=%u)))' })
    assert.deepEqual([not.attributes, not.filterCovers], [['uid'], { local: true, domain: false }])
    const loose = rule({ user_filter: '(|(uid=%l*)(cn~=%u)(uid:dn:=%l))' })
    assert.deepEqual(
      [loose.attributes, loose.filterCovers],
      [[], { local: false, domain: false }],
      'no exact comparison',
    )
    const exact = rule({ user_filter: '(uid:caseExactMatch:=%u)' })
    assert.deepEqual([exact.attributes, exact.filterCovers], [['uid'], { local: true, domain: true }])
    const literal = rule({ user_filter: '(mail=%l@example.com)' })
    assert.deepEqual(literal.filterCovers, { local: true, domain: false })
    // The analysis marks placeholders with noncharacters: a filter holding one is not analysed.
    const marked = rule({ user_filter: '(&(uid=%l)(ou=\uFDD2))' })
    assert.deepEqual([marked.attributes, marked.filterCovers], [[], { local: false, domain: false }])
  })

  test('dn_templates: the DN values built from the login, per template', () => {
    const t = rule({
      mode: 'template',
      dn_template: ['uid=%l,ou=people,dc=example,dc=com', 'uid=%l,ou=%d,o=mail', 'cn=%u,o=x'],
    })
    assert.deepEqual(
      t.templates.map((cs) => cs.map((c) => [c.attribute, c.covers])),
      [
        [['uid', { local: true, domain: false }]],
        [
          ['uid', { local: true, domain: false }],
          ['ou', { local: false, domain: true }],
        ],
        [['cn', { local: true, domain: true }]],
      ],
    )
    assert.deepEqual(t.attributes, ['uid', 'ou', 'cn'])
  })

  test('compiled once per configuration object', () => {
    const cfg = directory({})
    assert.equal(identityRuleFor(cfg), identityRuleFor(cfg))
  })
})

describe('the session identity', () => {
  test('search mode: the value of the comparison that matched, as the entry holds it', () => {
    const d = rule({})
    const alice = entry({ uid: ['alice'], mail: ['Alice@Example.com', 'a.liddell@example.com'] })
    assert.deepEqual(sessionIdentity(d, 'ALICE@example.com', { entry: alice }), {
      ok: true,
      identity: 'Alice@example.com',
    })
    assert.deepEqual(sessionIdentity(d, 'a.liddell@example.com', { entry: alice }), {
      ok: true,
      identity: 'a.liddell@example.com',
    })
    assert.deepEqual(sessionIdentity(d, 'Alice', { entry: alice }), { ok: true, identity: 'alice' })
  })

  test('search mode, AD filter: the domain counts only when userPrincipalName matched it', () => {
    const ad = rule({ user_filter: '(|(sAMAccountName=%l)(userPrincipalName=%u))' })
    const alice = entry({ samaccountname: ['Alice'], userprincipalname: ['alice@corp.example'] })
    assert.deepEqual(sessionIdentity(ad, 'alice@ceo.example', { entry: alice }), {
      ok: true,
      identity: 'Alice',
    })
    assert.deepEqual(sessionIdentity(ad, 'alice@corp.example', { entry: alice }), {
      ok: true,
      identity: 'alice@corp.example',
    })
    const junk = sessionIdentity(ad, 'alice@x; dkim=pass header.d=bank.example', { entry: alice })
    assert.deepEqual(junk, {
      ok: false,
      reason: 'ignored_login_text',
      detail: 'the directory matched only "Alice", not "@x; dkim=pass header.d=bank.example"',
    })
  })

  test('search mode, values not readable: what every match compares (the login, or only its local part)', () => {
    assert.deepEqual(sessionIdentity(rule({}), 'alice@example.com', { entry: entry({}) }), {
      ok: true,
      identity: 'alice@example.com',
    })
    const ad = rule({ user_filter: '(|(sAMAccountName=%l)(userPrincipalName=%u))' })
    assert.deepEqual(sessionIdentity(ad, 'alice@corp.example', { entry: null }), {
      ok: true,
      identity: 'alice',
    })
    assert.equal(sessionIdentity(ad, 'alice@x y', { entry: null }).ok, false)
    const and = rule({ user_filter: '(&(uid=%l)(associatedDomain=%d))' })
    assert.deepEqual(sessionIdentity(and, 'alice@ceo.example', { entry: entry({ uid: ['alice'] }) }), {
      ok: true,
      identity: 'alice@ceo.example',
    })
  })

  test('template mode: the values of the DN that bound (as the entry holds them when it could be read)', () => {
    const t = rule({
      mode: 'template',
      dn_template: ['uid=%l,ou=people,dc=example,dc=com', 'uid=%l,ou=%d,o=mail'],
    })
    assert.deepEqual(sessionIdentity(t, 'alice@ceo.example', { entry: null, template: 0 }), {
      ok: true,
      identity: 'alice',
    })
    assert.deepEqual(
      sessionIdentity(t, 'ALICE@ceo.example', { entry: entry({ uid: ['alice'] }), template: 0 }),
      { ok: true, identity: 'alice' },
    )
    assert.deepEqual(sessionIdentity(t, 'alice@ceo.example', { entry: null, template: 1 }), {
      ok: true,
      identity: 'alice@ceo.example',
    })
    assert.deepEqual(
      sessionIdentity(t, 'alice@x; y', { entry: null, template: 1 }),
      { ok: true, identity: 'alice@x; y' },
      'its DN holds all of it',
    )
    for (const login of ['alice@x; dkim=pass', 'alice@x\ty', 'alice@x\u2003y', 'alice@x;y']) {
      assert.equal(sessionIdentity(t, login, { entry: null, template: 0 }).ok, false, login)
    }
    assert.deepEqual(sessionIdentity(t, 'alice@x', { entry: null, template: 0 }), {
      ok: true,
      identity: 'alice',
    })
  })

  test('an entry value that is no valid login (control characters) is never the identity: the compared text is', () => {
    const d = rule({})
    // caseIgnoreMatch takes a line break for a space: the entry's value matches, but is no header value.
    const odd = entry({ uid: ['Alice\nSmith'] })
    assert.deepEqual(sessionIdentity(d, 'alice smith', { entry: odd }), { ok: true, identity: 'alice smith' })
    const t = rule({ mode: 'template', dn_template: 'uid=%l,ou=people,dc=example,dc=com' })
    assert.deepEqual(sessionIdentity(t, 'alice smith', { entry: odd, template: 0 }), {
      ok: true,
      identity: 'alice smith',
    })
  })

  test('no exact comparison with the login: identity_unknown', () => {
    const loose = rule({ user_filter: '(uid=%l*)' })
    const r = sessionIdentity(loose, 'alice', { entry: entry({ uid: ['alice'] }) })
    assert.deepEqual([r.ok, !r.ok && r.reason], [false, 'identity_unknown'])
  })

  test('without a rule (the directory layer tested alone) the login is the identity', () => {
    assert.deepEqual(sessionIdentity(undefined, 'alice@ceo.example', { entry: null }), {
      ok: true,
      identity: 'alice@ceo.example',
    })
  })
})

describe('notes at load', () => {
  test('no exact comparison is a warning; a domain never compared is said', () => {
    assert.deepEqual(identityNotes(rule({})), { warnings: [], notes: [] })
    const t = identityNotes(rule({ mode: 'template', dn_template: 'uid=%l,ou=people,dc=example,dc=com' }))
    assert.deepEqual(t.warnings, [])
    assert.match(
      t.notes.join('\n'),
      /^dn_template never compares the domain of a login: the session identity of alice@any\.domain is the entry's uid for alice/,
    )
    const loose = identityNotes(rule({ user_filter: '(uid=%l*)' }))
    assert.match(
      loose.warnings.join('\n'),
      /^user_filter: compares no part of the login exactly .*authz\(identity_unknown\)/,
    )
  })
})
