// lib/audit: the audit line, its fields in order, every one present, one line
// whatever the client sent.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  AUDIT_FIELDS,
  AUDIT_PREFIX,
  auditJson,
  auditLine,
  clientText,
  type AuditEvent,
} from '../../lib/audit'

function event(over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    time: '2026-12-03T19:30:00.000Z',
    session: '4F1B2C3D-0000-4000-8000-000000000001.1',
    client_ip: '192.0.2.7',
    local_port: 587,
    tls: true,
    tls_protocol: 'TLSv1.3',
    login: 'alice@example.com',
    identity: 'alice@example.com',
    acts_as: null,
    mechanism: 'PLAIN',
    plugin: 'ldap_auth',
    outcome: 'pass',
    rule: 'authn',
    reason: 'bind_ok',
    label: 'authn(bind_ok)',
    code: 235,
    enhanced_code: '2.7.0',
    server: null,
    elapsed_ms: 12,
    limiter: null,
    ...over,
  }
}

describe('auditLine', () => {
  test('the prefix, then one JSON object with every field in AUDIT_FIELDS order', () => {
    const line = auditLine(event())
    assert.ok(line.startsWith(AUDIT_PREFIX))
    const parsed = JSON.parse(line.slice(AUDIT_PREFIX.length))
    assert.deepEqual(Object.keys(parsed), [...AUDIT_FIELDS])
    assert.deepEqual(parsed, event())
  })

  test('fields in AUDIT_FIELDS order whatever order the event has; a key outside it is left out', () => {
    const e = event()
    const reversed = Object.fromEntries(Object.entries(e).reverse()) as unknown as typeof e
    const json = auditJson({ ...reversed, password: 'secret' } as typeof e)
    assert.deepEqual(Object.keys(JSON.parse(json)), [...AUDIT_FIELDS])
    assert.doesNotMatch(json, /secret/)
    assert.equal(json, auditJson(e))
  })

  test('an unknown field is null, never left out', () => {
    const e = event({ login: null, identity: null, mechanism: null, code: null, enhanced_code: null })
    const parsed = JSON.parse(auditJson({ ...e, server: undefined as unknown as null }))
    assert.deepEqual(Object.keys(parsed), [...AUDIT_FIELDS])
    assert.equal(parsed.server, null)
    assert.equal(parsed.login, null)
    assert.equal(parsed.limiter, null)
  })

  test('client text with CR, LF, NUL, quotes, U+2028 and U+2029 stays on one line and reads back exactly', () => {
    const login = 'eve"\r\n[NOTICE] forged\u0000\u2028line\u2029para\\'
    const json = auditJson(event({ login, outcome: 'fail' }))
    assert.doesNotMatch(json, /[\r\n\u2028\u2029\u0000]/)
    assert.match(json, /\\u2028/)
    assert.match(json, /\\u2029/)
    assert.equal(JSON.parse(json).login, login)
  })
})

describe('clientText', () => {
  test('null stays null; a long string is cut to 320 characters and marked', () => {
    assert.equal(clientText(undefined), null)
    assert.equal(clientText(null), null)
    assert.equal(clientText('alice'), 'alice')
    const cut = clientText('x'.repeat(1000))!
    assert.equal(cut.length, 321)
    assert.ok(cut.endsWith('…'))
  })
})
