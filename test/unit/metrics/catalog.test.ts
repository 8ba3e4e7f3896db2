// lib/metrics/catalog: the metric table, the AUTH results table (every reason of the
// rules authn, authz and auth maps to a result), and the updates each decision makes.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  AUTH_RESULTS,
  AUTHN_RESULTS,
  AUTHZ_RESULTS,
  authResultOf,
  EXCHANGE_RESULTS,
  exportedSeriesNames,
  mechanismLabel,
  METRICS,
  metricsOf,
  metricsOfSummary,
  type MetricUpdate,
} from '../../../lib/metrics/catalog'

const ISSUE_RESULTS = [
  'success',
  'bad_credentials',
  'unknown_user',
  'disabled',
  'not_in_group',
  'expired',
  'locked',
  'directory_unavailable',
  'rate_limited',
  'protocol_error',
]

const names = (u: MetricUpdate[]) => u.map((x) => x.name)

describe('the metric table', () => {
  test('Prometheus naming: haraka_ prefix, counters end in _total, histograms in a unit, gauges do not end in _total', () => {
    const seen = new Set<string>()
    for (const m of METRICS) {
      assert.ok(!seen.has(m.name), `${m.name} twice`)
      seen.add(m.name)
      assert.match(m.name, /^haraka_[a-z_]+$/)
      if (m.type === 'counter') assert.match(m.name, /_total$/)
      else assert.doesNotMatch(m.name, /_total$/)
      if (m.type === 'histogram') assert.match(m.name, /_seconds$/)
      assert.ok(m.help.length > 10)
    }
  })

  test('no label could carry a login or an address', () => {
    for (const m of METRICS)
      for (const l of m.labels)
        assert.ok(!/user|login|address|ip|sender|rcpt|from/i.test(l), `${m.name}{${l}}`)
  })

  test('the series names: histograms with _bucket, _sum, _count', () => {
    const s = exportedSeriesNames()
    assert.ok(s.has('haraka_auth_duration_seconds_bucket'))
    assert.ok(s.has('haraka_ldap_request_duration_seconds_count'))
    assert.ok(s.has('haraka_auth_attempts_total'))
    assert.ok(!s.has('haraka_auth_attempts_total_bucket'))
  })
})

describe('AUTH results', () => {
  test('every result the issue names is one of ours, and every mapped result is known', () => {
    for (const r of ISSUE_RESULTS) assert.ok((AUTH_RESULTS as readonly string[]).includes(r), r)
    for (const table of [AUTHN_RESULTS, AUTHZ_RESULTS, EXCHANGE_RESULTS])
      for (const [reason, result] of Object.entries(table))
        assert.ok((AUTH_RESULTS as readonly string[]).includes(result), `${reason} -> ${result}`)
  })

  test('every result but rate_limited is reached from some reason (rate_limited: the limiter rule)', () => {
    const reached = new Set([
      ...Object.values(AUTHN_RESULTS),
      ...Object.values(AUTHZ_RESULTS),
      ...Object.values(EXCHANGE_RESULTS),
    ])
    for (const r of AUTH_RESULTS) if (r !== 'rate_limited') assert.ok(reached.has(r), `${r} is never reached`)
    assert.equal(authResultOf({ rule: 'limit', reason: 'ip_banned', verdict: 'fail' }), 'rate_limited')
  })

  test('the mapping, Dovecot-style', () => {
    const of = (rule: string, reason: string, verdict = 'fail') => authResultOf({ rule, reason, verdict })
    assert.equal(of('authn', 'bind_ok', 'pass'), 'success')
    assert.equal(of('authn', 'cache_ok', 'pass'), 'success')
    assert.equal(of('authn', 'invalid_credentials'), 'bad_credentials')
    assert.equal(of('authn', 'no_such_user'), 'unknown_user')
    assert.equal(of('authz', 'account_disabled'), 'disabled')
    assert.equal(of('authz', 'ad_account_disabled'), 'disabled')
    assert.equal(of('authz', 'not_in_required_group'), 'not_in_group')
    assert.equal(of('authz', 'account_expired'), 'expired')
    assert.equal(of('authz', 'ppolicy_locked'), 'locked')
    assert.equal(of('authz', 'ad_account_locked'), 'locked')
    assert.equal(of('authn', 'directory_unavailable'), 'directory_unavailable')
    assert.equal(of('authn', 'directory_busy'), 'directory_unavailable')
    assert.equal(of('authn', 'timeout'), 'directory_unavailable')
    assert.equal(of('auth', 'bad_base64'), 'protocol_error')
    assert.equal(of('auth', 'no_tls'), 'protocol_error')
    assert.equal(of('auth', 'cancelled'), 'aborted')
  })

  test('a rule or reason the table does not know is counted by its verdict, never a crash', () => {
    assert.equal(authResultOf({ rule: 'authn', reason: 'something_new', verdict: 'fail' }), 'internal_error')
    assert.equal(authResultOf({ rule: 'brand_new', reason: 'x', verdict: 'pass' }), 'success')
    assert.equal(authResultOf({ rule: 'constructor', reason: 'toString', verdict: 'fail' }), 'internal_error')
    assert.equal(authResultOf({ rule: 'authn', reason: '__proto__', verdict: 'fail' }), 'internal_error')
  })

  test('the mechanism label is a known name or `other`: never the client text', () => {
    assert.equal(mechanismLabel('plain'), 'PLAIN')
    assert.equal(mechanismLabel('LOGIN'), 'LOGIN')
    assert.equal(mechanismLabel('AGFsaWNlAHNlY3JldA=='), 'other')
    assert.equal(mechanismLabel(undefined), 'none')
  })
})

describe('metricsOf: the updates of one decision', () => {
  test('every decision counts in haraka_decisions_total', () => {
    const u = metricsOf({ plugin: 'auth_stamp', rule: 'bare_cr', reason: 'refused', verdict: 'fail' })
    assert.deepEqual(u, [
      {
        kind: 'inc',
        name: 'haraka_decisions_total',
        labels: { plugin: 'auth_stamp', rule: 'bare_cr', verdict: 'fail' },
      },
    ])
  })

  test('an AUTH decision: an attempt by mechanism and result, and its duration', () => {
    const u = metricsOf(
      { plugin: 'ldap_auth', rule: 'authn', reason: 'invalid_credentials', verdict: 'fail' },
      { mechanism: 'LOGIN', seconds: 0.02 },
    )
    assert.deepEqual(names(u), [
      'haraka_decisions_total',
      'haraka_auth_attempts_total',
      'haraka_auth_duration_seconds',
    ])
    assert.deepEqual(u[1]!.labels, { mechanism: 'LOGIN', result: 'bad_credentials' })
    assert.deepEqual(u[2], {
      kind: 'observe',
      name: 'haraka_auth_duration_seconds',
      labels: { result: 'bad_credentials' },
      value: 0.02,
    })
  })

  test('without the AUTH context (authz(proxy) beside a success) no attempt is counted', () => {
    const u = metricsOf({ plugin: 'ldap_auth', rule: 'authz', reason: 'proxy', verdict: 'pass' })
    assert.deepEqual(names(u), ['haraka_decisions_total'])
  })

  test('sender checks, relay refusals (not acceptances)', () => {
    const sender = metricsOf({ plugin: 'auth_relay', rule: 'sender', reason: 'send_as', verdict: 'pass' })
    assert.deepEqual(sender[1], {
      kind: 'inc',
      name: 'haraka_sender_checks_total',
      labels: { check: 'sender', reason: 'send_as', result: 'pass' },
    })
    const header = metricsOf({
      plugin: 'auth_relay',
      rule: 'header',
      reason: 'from_not_owned',
      verdict: 'fail',
    } as never)
    assert.equal(header[1]!.name, 'haraka_sender_checks_total')
    const refused = metricsOf({ plugin: 'auth_relay', rule: 'rcpt', reason: 'relay_denied', verdict: 'fail' })
    assert.deepEqual(refused[1], {
      kind: 'inc',
      name: 'haraka_relay_refusals_total',
      labels: { rule: 'rcpt', reason: 'relay_denied' },
    })
    const mail = metricsOf({ plugin: 'auth_relay', rule: 'mail', reason: 'auth_required', verdict: 'fail' })
    assert.equal(mail[1]!.name, 'haraka_relay_refusals_total')
    const accepted = metricsOf({
      plugin: 'auth_relay',
      rule: 'rcpt',
      reason: 'authenticated',
      verdict: 'pass',
    } as never)
    assert.deepEqual(names(accepted), ['haraka_decisions_total'])
  })

  test('the limiter (rule limit) and containment (rule contain), before their Reasons exist', () => {
    const limit = metricsOf(
      { plugin: 'ldap_auth', rule: 'limit', reason: 'ip_banned', verdict: 'fail' } as never,
      {
        mechanism: 'PLAIN',
      },
    )
    assert.deepEqual(names(limit), [
      'haraka_decisions_total',
      'haraka_auth_attempts_total',
      'haraka_limiter_decisions_total',
    ])
    assert.equal(limit[1]!.labels.result, 'rate_limited')
    assert.deepEqual(limit[2]!.labels, { plugin: 'ldap_auth', reason: 'ip_banned', verdict: 'fail' })
    const contain = metricsOf({
      plugin: 'auth_relay',
      rule: 'contain',
      reason: 'suspended',
      verdict: 'fail',
    } as never)
    assert.deepEqual(contain[1], {
      kind: 'inc',
      name: 'haraka_containment_actions_total',
      labels: { reason: 'suspended', verdict: 'fail' },
    })
  })

  test('a duration that is not a number is left out', () => {
    const u = metricsOf(
      { plugin: 'ldap_auth', rule: 'authn', reason: 'bind_ok', verdict: 'pass' },
      { mechanism: 'PLAIN', seconds: Number.NaN },
    )
    assert.ok(!names(u).includes('haraka_auth_duration_seconds'))
  })
})

describe('metricsOfSummary: auth_stamp’s entry per message', () => {
  test('a stamped message with forged copies removed', () => {
    const u = metricsOfSummary('auth_stamp', {
      removed: 3,
      pass: ['stamp(identity)', 'stamp(date_added)'],
      skip: ['verify(no_stamp)'],
    })
    assert.deepEqual(
      u.filter((x) => x.name !== 'haraka_decisions_total'),
      [
        { kind: 'inc', name: 'haraka_stamps_added_total', labels: {} },
        { kind: 'inc', name: 'haraka_stamp_forged_removed_total', labels: {}, by: 3 },
      ],
    )
    assert.equal(u.filter((x) => x.name === 'haraka_decisions_total').length, 3)
  })

  test('an unauthenticated message: nothing stamped; junk in the entry is ignored', () => {
    const u = metricsOfSummary('auth_stamp', {
      skip: ['stamp(unauthenticated)', 'not a label', 7],
      removed: 'x',
    })
    assert.deepEqual(names(u), ['haraka_decisions_total'])
  })
})
