// The metrics on a real Haraka in cluster mode (smtp.ini nodes=2) against a real slapd:
// known traffic, spread by the cluster over both workers, then one scrape of the master's
// listener, whose counts must be the sums over the workers. Basic auth is enforced, and
// with the shipped auth_metrics.ini (listen unset) there is no listener at all.
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { exportedSeriesNames } from '../../lib/metrics/catalog'
import { isListening } from '../../demo/ports'
import { freePort } from '../harness/ports'
import { ALICE, BOB, startStack, waitForLog, type Stack } from '../harness/stack'

const USER = 'prometheus'
const PASSWORD = 'scrape-me-7f3a'

interface Response {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, timeout: 10_000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
}

const basic = (user: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
})

type Sample = { name: string; labels: Record<string, string>; value: number }

/** The samples of an OpenMetrics / Prometheus text exposition. */
function samples(text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line)
    assert.ok(m, `not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!
    out.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return out
}

/** The sum of the samples of `name` whose labels include `match`. */
function sum(all: Sample[], name: string, match: Record<string, string> = {}): number {
  return all
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0)
}

describe('metrics, cluster mode (nodes=2), real slapd', () => {
  let stack: Stack
  let port: number

  before(async () => {
    port = await freePort()
    stack = await startStack({
      ini: {
        'smtp.ini': { main: { nodes: '2' } },
        'ldap_auth.ini': { main: { failure_delay: '0', cache_ttl: '60' } },
        'auth_metrics.ini': {
          main: { listen: `127.0.0.1:${port}`, user: USER, password: PASSWORD },
        },
      },
    })
    // both workers up (the listener's port is shared; the master logs each one listening)
    const deadline = Date.now() + 20_000
    while ((stack.haraka.logs().match(/worker \d+ listening on/g) ?? []).length < 2 * 3) {
      assert.ok(Date.now() < deadline, `two workers did not start:\n${stack.haraka.logs().slice(-3000)}`)
      await sleep(100)
    }
  })
  after(async () => {
    await stack?.stop()
  })

  test('basic auth: no credentials or wrong ones are 401, with a Basic challenge', async () => {
    const none = await get(port, '/metrics')
    assert.equal(none.status, 401)
    assert.match(String(none.headers['www-authenticate']), /^Basic realm="metrics"/)
    assert.ok(!none.body.includes('haraka_'))
    const wrong = await get(port, '/metrics', basic(USER, 'not-the-password'))
    assert.equal(wrong.status, 401)
    const otherPath = await get(port, '/other', basic(USER, PASSWORD))
    assert.equal(otherPath.status, 404)
  })

  test('known traffic, summed over both workers', async () => {
    const sessions: Array<() => Promise<void>> = []
    const auth = (login: string, password: string, code: number, mech: 'PLAIN' | 'LOGIN' = 'PLAIN') =>
      sessions.push(async () => {
        const c = await stack.submission()
        const r = mech === 'PLAIN' ? await c.authPlain(login, password) : await c.authLogin(login, password)
        assert.equal(r.code, code, `${login}: ${r.lines.join(' | ')}`)
        await c.quit()
      })
    auth(ALICE.login, ALICE.password, 235)
    auth(BOB.login, BOB.password, 235)
    auth(ALICE.login, ALICE.password, 235, 'LOGIN')
    auth(ALICE.login, 'wrong-password-1', 535)
    auth(BOB.login, 'wrong-password-2', 535, 'LOGIN')
    auth('nobody@example.com', 'whatever-3', 535)
    sessions.push(async () => {
      const c = await stack.inbound()
      assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
      assert.equal((await c.rcptTo('victim@elsewhere.example')).code, 550)
      await c.quit()
    })
    // one at a time: each a new connection, which the cluster hands to its workers in turn
    for (const s of sessions) await s()

    const res = await get(port, '/metrics', basic(USER, PASSWORD))
    assert.equal(res.status, 200, res.body)
    assert.match(String(res.headers['content-type']), /^application\/openmetrics-text; version=1\.0\.0/)
    assert.ok(res.body.trimEnd().endsWith('# EOF'))
    const all = samples(res.body)

    const attempts = (mechanism: string, result: string) =>
      sum(all, 'haraka_auth_attempts_total', { mechanism, result })
    assert.equal(attempts('PLAIN', 'success'), 2)
    assert.equal(attempts('LOGIN', 'success'), 1)
    assert.equal(attempts('PLAIN', 'bad_credentials'), 1)
    assert.equal(attempts('LOGIN', 'bad_credentials'), 1)
    assert.equal(attempts('PLAIN', 'unknown_user'), 1)
    assert.equal(sum(all, 'haraka_auth_attempts_total'), 6)
    assert.equal(sum(all, 'haraka_auth_duration_seconds_count'), 6)
    assert.equal(sum(all, 'haraka_auth_duration_seconds_bucket', { le: '+Inf' }), 6)

    assert.equal(sum(all, 'haraka_relay_refusals_total', { rule: 'rcpt', reason: 'relay_denied' }), 1)
    assert.equal(
      sum(all, 'haraka_decisions_total', { plugin: 'auth_relay', rule: 'rcpt', verdict: 'fail' }),
      1,
    )

    // the directory: 3 right passwords bound, or answered from the cache (60 s) when the same
    // worker saw alice before; every attempt with a password looked in the cache first
    const server = stack.slapd.url
    const binds = (outcome: string) =>
      sum(all, 'haraka_ldap_requests_total', { server, operation: 'bind', outcome })
    const lookups = (outcome: string) => sum(all, 'haraka_auth_cache_lookups_total', { outcome })
    assert.equal(lookups('hit') + lookups('miss') + lookups('negative_hit'), 6)
    assert.equal(binds('success'), 3 - lookups('hit'))
    assert.equal(binds('refused'), 2)
    assert.ok(
      sum(all, 'haraka_ldap_requests_total', { server, operation: 'search', outcome: 'success' }) >= 5,
    )
    assert.equal(
      sum(all, 'haraka_ldap_server_up', { server }),
      1,
      'up, and the lowest over workers (not a sum)',
    )
    assert.equal(
      sum(all, 'haraka_ldap_request_duration_seconds_count', { server, operation: 'bind' }),
      binds('success') + binds('refused'),
    )
    assert.equal(all.filter((s) => s.name === 'haraka_ldap_submission_build_info').length, 1)

    // no series names a login or an address; every name is in the catalog
    for (const s of all) {
      assert.ok(exportedSeriesNames().has(s.name) || s.name.endsWith('_created'), `unknown series ${s.name}`)
      for (const v of Object.values(s.labels))
        assert.ok(!/@|alice|bob|nobody/.test(v), `${s.name} has a label value ${v}`)
    }
    assert.ok(!res.body.includes(ALICE.password) && !res.body.includes('wrong-password'))

    // The sums are over both workers. The cluster hands connections to its workers in turn,
    // so each searched the directory, one session at a time: each process keeps exactly one
    // idle service connection in ldap_auth's pool, and the sum says two processes answered.
    assert.equal(sum(all, 'haraka_ldap_pool_connections', { pool: 'service', state: 'idle' }), 2)
    assert.equal(sum(all, 'haraka_ldap_pool_connections', { pool: 'service', state: 'busy' }), 0)
  })
})

describe('metrics listener off by default', () => {
  test('the shipped auth_metrics.ini: Haraka runs, and nothing listens on a metrics port', async () => {
    const port = await freePort()
    const stack = await startStack()
    try {
      // logged at init_master, which Haraka runs once its listeners are up
      await waitForLog(stack.haraka, /metrics listener off \(auth_metrics\.ini listen\)/)
      assert.equal(await isListening(port, 300, '127.0.0.1'), false)
      assert.ok(!/metrics on http/.test(stack.haraka.logs()))
    } finally {
      await stack.stop()
    }
  })
})
