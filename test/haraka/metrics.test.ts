// haraka/metrics and haraka/metrics_server: record() feeds the registry (the one
// chokepoint), the directory observer and the cache count, the text is OpenMetrics
// (or Prometheus text when asked), and the listener's basic auth, paths and errors.
import assert from 'node:assert/strict'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { Connection, Plugin } from 'haraka'
import type { Decision } from '../../lib/decisions'
import { REPLIES } from '../../lib/replies'
import {
  contentTypeFor,
  countCacheLookup,
  gaugeSource,
  ldapMetrics,
  localMetrics,
} from '../../haraka/metrics'
import { basicAuthOk, startMetricsServer } from '../../haraka/metrics_server'
import { markAuthCommand } from '../../haraka/notes'
import { record, recordSummary, recordWithoutSession, setAuditSink } from '../../haraka/record'
import type { MetricsConfig } from '../../lib/metrics/config'

const fixtures = require('haraka-test-fixtures') as { connection: { createConnection(): any } }

/** The value of one sample line (`name{labels} value`), 0 when absent. */
async function value(line: string, contentType?: string): Promise<number> {
  const text = await localMetrics(contentType)
  const found = text.split('\n').find((l) => l.startsWith(`${line} `))
  return found ? Number(found.slice(line.length + 1)) : 0
}

function session() {
  const c = fixtures.connection.createConnection() as Connection & Record<string, any>
  for (const level of ['logdebug', 'loginfo', 'lognotice', 'logwarn', 'logerror']) c[level] = () => undefined
  return c
}

const PLUGIN = { name: 'ldap_auth' } as Plugin

describe('record() feeds the metrics', () => {
  before(() => setAuditSink({ mode: 'off' }))
  after(() => setAuditSink({ mode: 'log' }))

  test('an AUTH decision: attempts by mechanism and result, duration, decisions', async () => {
    const attempts = 'haraka_auth_attempts_total{mechanism="PLAIN",result="locked"}'
    const decisions = 'haraka_decisions_total{plugin="ldap_auth",rule="authz",verdict="fail"}'
    const durations = 'haraka_auth_duration_seconds_count{result="locked"}'
    const [a0, d0, h0] = [await value(attempts), await value(decisions), await value(durations)]
    const c = session()
    markAuthCommand(c, 'PLAIN dGVzdAB0ZXN0AHNlY3JldA==')
    const locked: Decision = {
      plugin: 'ldap_auth',
      rule: 'authz',
      reason: 'ppolicy_locked',
      verdict: 'fail',
      reply: REPLIES.AUTH_FAILED,
    }
    record(c, PLUGIN, locked, {
      auth: { mechanism: 'PLAIN', login: 'x@example.com', startedAt: Date.now() - 5 },
    })
    assert.equal(await value(attempts), a0 + 1)
    assert.equal(await value(decisions), d0 + 1)
    assert.equal(await value(durations), h0 + 1)
    const text = await localMetrics()
    assert.ok(!text.includes('x@example.com'), 'no login in any label')
  })

  test('a policy decision counts without an attempt; a summary counts its stamps', async () => {
    const refusals = 'haraka_relay_refusals_total{rule="rcpt",reason="relay_denied"}'
    const stamped = 'haraka_stamps_added_total'
    const removed = 'haraka_stamp_forged_removed_total'
    const [r0, s0, f0] = [await value(refusals), await value(stamped), await value(removed)]
    const c = session()
    record(c, { name: 'auth_relay' } as Plugin, {
      plugin: 'auth_relay',
      rule: 'rcpt',
      reason: 'relay_denied',
      verdict: 'fail',
      reply: REPLIES.RELAY_DENIED,
    })
    assert.equal(await value(refusals), r0 + 1)
    const txn = { results: { add() {} } } as never
    recordSummary(txn, { name: 'auth_stamp' } as Plugin, { removed: 2, pass: ['stamp(identity)'] })
    assert.equal(await value(stamped), s0 + 1)
    assert.equal(await value(removed), f0 + 2)
  })
})

describe('the directory observer, the cache, gauge sources', () => {
  test('requests by server, operation and outcome, with durations; no_connection has none', async () => {
    const server = 'ldaps://ldap1.example.com:636'
    ldapMetrics.request!({ server, operation: 'bind', outcome: 'refused', seconds: 0.003 })
    ldapMetrics.request!({ server: 'none', operation: 'search', outcome: 'no_connection', seconds: 0 })
    assert.equal(
      await value(`haraka_ldap_requests_total{server="${server}",operation="bind",outcome="refused"}`),
      1,
    )
    assert.equal(
      await value(`haraka_ldap_request_duration_seconds_count{server="${server}",operation="bind"}`),
      1,
    )
    assert.equal(
      await value('haraka_ldap_requests_total{server="none",operation="search",outcome="no_connection"}'),
      1,
    )
    assert.equal(
      await value('haraka_ldap_request_duration_seconds_count{server="none",operation="search"}'),
      0,
    )
  })

  test('server up/down, and pools read at scrape time until forgotten', async () => {
    ldapMetrics.server!({ server: 'ldap://a:389', up: false })
    assert.equal(await value('haraka_ldap_server_up{server="ldap://a:389"}'), 0)
    ldapMetrics.server!({ server: 'ldap://a:389', up: true })
    assert.equal(await value('haraka_ldap_server_up{server="ldap://a:389"}'), 1)
    let busy = 1
    const forget = ldapMetrics.pools!(() => [
      { pool: 'service', busy, idle: 2, waiting: 0 },
      { pool: 'bind', busy: 0, idle: 1, waiting: 3 },
    ])
    const forget2 = ldapMetrics.pools!(() => [{ pool: 'service', busy: 0, idle: 1, waiting: 0 }])
    assert.equal(await value('haraka_ldap_pool_connections{pool="service",state="busy"}'), 1)
    assert.equal(
      await value('haraka_ldap_pool_connections{pool="service",state="idle"}'),
      3,
      'summed over pools',
    )
    assert.equal(await value('haraka_ldap_pool_connections{pool="bind",state="waiting"}'), 3)
    busy = 4
    assert.equal(await value('haraka_ldap_pool_connections{pool="service",state="busy"}'), 4)
    forget!()
    forget2!()
    assert.equal(await value('haraka_ldap_pool_connections{pool="service",state="idle"}'), 0)
  })

  test('cache lookups by outcome; the active bans gauge from its source', async () => {
    const hits = await value('haraka_auth_cache_lookups_total{outcome="stale_hit"}')
    countCacheLookup('stale_hit')
    assert.equal(await value('haraka_auth_cache_lookups_total{outcome="stale_hit"}'), hits + 1)
    const stop = gaugeSource('haraka_limiter_active_bans', () => 7)
    assert.equal(await value('haraka_limiter_active_bans'), 7)
    stop()
    // a shared store answers later: the read may be async; one that fails leaves the last value
    const later = gaugeSource('haraka_limiter_active_bans', async () => 3)
    assert.equal(await value('haraka_limiter_active_bans'), 3)
    later()
    const failing = gaugeSource('haraka_limiter_active_bans', () => Promise.reject(new Error('down')))
    assert.equal(await value('haraka_limiter_active_bans'), 3)
    failing()
  })

  test('counter names in both formats; build info', async () => {
    const open = await localMetrics(contentTypeFor('application/openmetrics-text; version=1.0.0'))
    assert.match(open, /^# TYPE haraka_auth_attempts counter$/m)
    assert.match(open, /^haraka_auth_attempts_total\{/m)
    assert.ok(open.trimEnd().endsWith('# EOF'))
    const prom = await localMetrics(contentTypeFor('text/plain;version=0.0.4'))
    assert.match(prom, /^# TYPE haraka_auth_attempts_total counter$/m)
    assert.doesNotMatch(prom, /_total_total/)
    assert.doesNotMatch(await localMetrics(), /_total_total/)
    assert.match(open, /^haraka_ldap_submission_build_info\{version="\d+\.\d+\.\d+",node_version="v\d+/m)
  })
})

describe('the listener', () => {
  const cfg = (over: Partial<MetricsConfig> = {}) =>
    ({
      listen: '127.0.0.1:0',
      address: { host: '127.0.0.1', port: 0 },
      path: '/metrics',
      user: 'prom',
      secret: 'pa:ss word',
      ...over,
    }) as MetricsConfig

  function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET') {
    return new Promise<{ status: number; body: string; type: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers, method }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }),
        )
      })
      req.on('error', reject)
      req.end()
    })
  }
  const auth = (u: string, p: string) => ({
    Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`,
  })

  test('basicAuthOk: exact user and password only', () => {
    assert.ok(basicAuthOk(auth('prom', 'pa:ss word').Authorization, 'prom', 'pa:ss word'))
    assert.ok(!basicAuthOk(auth('prom', 'pa:ss wor').Authorization, 'prom', 'pa:ss word'))
    assert.ok(!basicAuthOk(auth('Prom', 'pa:ss word').Authorization, 'prom', 'pa:ss word'))
    assert.ok(!basicAuthOk(undefined, 'prom', 'x'))
    assert.ok(!basicAuthOk('Bearer abc', 'prom', 'x'))
  })

  test('401 without credentials, 404 elsewhere, 405 for POST, 200 with the text, 503 when the scrape fails', async () => {
    let fail = false
    const errors: string[] = []
    const server = await startMetricsServer(
      cfg(),
      async (type) => {
        if (fail) throw new Error('2 worker(s) did not answer within 3000 ms')
        return localMetrics(type)
      },
      (e) => errors.push(e.message),
    )
    try {
      const port = (server.address() as AddressInfo).port
      assert.equal((await get(port, '/metrics')).status, 401)
      assert.equal((await get(port, '/metrics', auth('prom', 'nope'))).status, 401)
      assert.equal((await get(port, '/', auth('prom', 'pa:ss word'))).status, 404)
      assert.equal((await get(port, '/metrics', auth('prom', 'pa:ss word'), 'POST')).status, 405)
      const ok = await get(port, '/metrics?x=1', auth('prom', 'pa:ss word'))
      assert.equal(ok.status, 200)
      assert.match(ok.type, /^application\/openmetrics-text/)
      assert.match(ok.body, /haraka_auth_attempts_total/)
      fail = true
      const down = await get(port, '/metrics', auth('prom', 'pa:ss word'))
      assert.equal(down.status, 503)
      assert.deepEqual(errors, ['2 worker(s) did not answer within 3000 ms'])
    } finally {
      server.close()
    }
  })

  test('without user, no basic auth', async () => {
    const server = await startMetricsServer(cfg({ user: '', secret: '' }), localMetrics, () => undefined)
    try {
      const port = (server.address() as AddressInfo).port
      assert.equal((await get(port, '/metrics')).status, 200)
    } finally {
      server.close()
    }
  })
})

test('recordWithoutSession (a bounce) counts its decision as record() does', async () => {
  const line = 'haraka_containment_actions_total{reason="refused_recipients_per_day",verdict="fail"}'
  const before = await value(line)
  const logs: string[] = []
  const plugin = { name: 'auth_relay', lognotice: (m: string) => void logs.push(m) } as unknown as Plugin
  const decision = {
    plugin: 'auth_relay',
    rule: 'contain',
    reason: 'refused_recipients_per_day',
    verdict: 'fail',
  } as unknown as Decision
  recordWithoutSession(plugin, decision)
  assert.equal(await value(line), before + 1)
  assert.equal(logs.length, 1)
})
