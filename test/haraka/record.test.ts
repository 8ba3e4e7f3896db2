// haraka/record's audit trail on haraka-test-fixtures connections: which
// decisions get a line (every AUTH decision, every auth_relay/auth_stamp fail or
// err, nothing else), what the line says of the session, and where it goes
// (Haraka's log, a file of its own, nowhere). On real Haraka: test/e2e/audit.test.ts.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, test } from 'node:test'
import type { Plugin } from 'haraka'
import { AUDIT_FIELDS } from '../../lib/audit'
import type { Decision } from '../../lib/decisions'
import { REPLIES } from '../../lib/replies'
import { closeAuditFiles } from '../../haraka/audit_file'
import { markAuthCommand, mechanismName } from '../../haraka/notes'
import { record, setAuditSink } from '../../haraka/record'
import { fixturesConnection } from '../harness/ldap_auth_plugin'

function session() {
  const lines: string[] = []
  const c = fixturesConnection({ ip: '192.0.2.7', log: (msg) => void lines.push(msg) })
  c.local.port = 587
  c.tls.enabled = true
  ;(c.tls as Record<string, unknown>).cipher = { version: 'TLSv1.3' }
  const audits = () => lines.filter((l) => l.startsWith('audit {')).map((l) => JSON.parse(l.slice(6)))
  return { c, lines, audits }
}

const PLUGIN = { name: 'ldap_auth' } as Plugin
const RELAY = { name: 'auth_relay' } as Plugin

const AUTH_OK: Decision = {
  plugin: 'ldap_auth',
  rule: 'authn',
  reason: 'bind_ok',
  verdict: 'pass',
  reply: REPLIES.AUTH_OK,
} as Decision
const NOT_OWNED: Decision = {
  plugin: 'auth_relay',
  rule: 'sender',
  reason: 'not_owned',
  verdict: 'fail',
  reply: { code: 553, enh: '5.7.1', text: 'not yours' },
} as Decision
const RCPT_OK: Decision = {
  plugin: 'auth_relay',
  rule: 'rcpt',
  reason: 'authenticated',
  verdict: 'pass',
} as Decision
const PROXY: Decision = { plugin: 'ldap_auth', rule: 'authz', reason: 'proxy', verdict: 'pass' } as Decision

afterEach(() => {
  setAuditSink({ mode: 'log' })
  closeAuditFiles()
})

describe('audit lines from record()', () => {
  test('an AUTH decision: one line with the session, the attempt and the reply', () => {
    const { c, audits } = session()
    markAuthCommand(c, 'plain')
    record(c, PLUGIN, AUTH_OK, {
      auth: {
        login: 'Alice@Example.com',
        identity: 'alice@example.com',
        mechanism: 'PLAIN',
        startedAt: c.notes.ldap_auth_command.at,
      },
    })
    const [a, ...more] = audits()
    assert.equal(more.length, 0)
    assert.deepEqual(Object.keys(a), [...AUDIT_FIELDS])
    assert.match(a.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    assert.equal(a.session, c.uuid)
    assert.equal(a.client_ip, '192.0.2.7')
    assert.equal(a.local_port, 587)
    assert.equal(a.tls, true)
    assert.equal(a.tls_protocol, 'TLSv1.3')
    assert.equal(a.login, 'Alice@Example.com')
    assert.equal(a.identity, 'alice@example.com')
    assert.equal(a.acts_as, null)
    assert.equal(a.mechanism, 'PLAIN')
    assert.equal(a.plugin, 'ldap_auth')
    assert.equal(a.outcome, 'pass')
    assert.equal(a.label, 'authn(bind_ok)')
    assert.equal(a.code, 235)
    assert.equal(a.enhanced_code, '2.7.0')
    assert.equal(typeof a.elapsed_ms, 'number')
    assert.ok(a.elapsed_ms >= 0)
    assert.equal(a.limiter, null)
  })

  test('a policy refusal: one line naming the session user and its mechanism; no login as given', () => {
    const { c, audits } = session()
    c.notes.auth_user = 'alice@example.com'
    c.notes.auth_method = 'PLAIN'
    record(c, RELAY, NOT_OWNED)
    const [a, ...more] = audits()
    assert.equal(more.length, 0)
    assert.equal(a.plugin, 'auth_relay')
    assert.equal(a.label, 'sender(not_owned)')
    assert.equal(a.outcome, 'fail')
    assert.equal(a.identity, 'alice@example.com')
    assert.equal(a.login, null)
    assert.equal(a.mechanism, 'PLAIN')
    assert.equal(a.code, 553)
    assert.equal(a.enhanced_code, '5.7.1')
    assert.equal(a.elapsed_ms, null)
  })

  test('no line for a relay pass, nor for an ldap_auth decision that is not the AUTH decision', () => {
    const { c, audits } = session()
    record(c, RELAY, RCPT_OK)
    record(c, PLUGIN, PROXY, { level: 'none' })
    assert.equal(audits().length, 0)
  })

  test('without TLS: tls false and no protocol', () => {
    const { c, audits } = session()
    c.tls.enabled = false
    record(c, RELAY, NOT_OWNED)
    assert.equal(audits()[0].tls, false)
    assert.equal(audits()[0].tls_protocol, null)
  })

  test('audit=off: no line; the decision is still logged and recorded', () => {
    const { c, lines, audits } = session()
    setAuditSink({ mode: 'off' })
    record(c, RELAY, NOT_OWNED)
    assert.equal(audits().length, 0)
    assert.ok(lines.some((l) => l.includes('sender(not_owned)')))
    assert.ok((c.results.get('auth_relay') as any).fail.includes('sender(not_owned)'))
  })

  test('audit=file: the JSON alone, one line per decision, appended to a 0640 file, none in the log', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'audit-'))
    try {
      const file = path.join(dir, 'audit.log')
      setAuditSink({ mode: 'file', file })
      const { c, audits } = session()
      record(c, RELAY, NOT_OWNED)
      record(c, PLUGIN, AUTH_OK, { auth: { login: 'alice' } })
      assert.equal(audits().length, 0)
      const rows = readFileSync(file, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l))
      assert.deepEqual(
        rows.map((r) => r.label),
        ['sender(not_owned)', 'authn(bind_ok)'],
      )
      assert.equal(statSync(file).mode & 0o777, 0o640 & ~process.umask())
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('audit=file that cannot be opened: the line goes to the log instead', () => {
    setAuditSink({ mode: 'file', file: '/nonexistent-dir/audit.log' })
    const { c, audits } = session()
    record(c, RELAY, NOT_OWNED)
    assert.equal(audits().length, 1)
  })
})

describe('mechanismName', () => {
  test('a known SASL mechanism, upper-cased; any other word (a credential sent in its place) is `other`', () => {
    assert.equal(mechanismName('plain'), 'PLAIN')
    assert.equal(
      mechanismName('PLAIN AGFsaWNlAHdvbmRlcmxhbmQtNDI='),
      'PLAIN',
      'the first word of AUTH PLAIN <initial response>',
    )
    assert.equal(mechanismName('CRAM-MD5'), 'CRAM-MD5')
    assert.equal(mechanismName('AGFsaWNlAHdvbmRlcmxhbmQtNDI='), 'other')
    assert.equal(mechanismName(''), 'other')
  })
})
