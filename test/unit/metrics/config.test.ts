// lib/metrics/config: auth_metrics.ini — off by default, loopback unless a host is given,
// basic auth needs both halves, password_file read at load; what lint and the log warn about.
import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import {
  isLoopbackHost,
  listenAddress,
  metricsWarnings,
  parseMetricsConfig,
  type MetricsConfig,
} from '../../../lib/metrics/config'

function parse(main: Record<string, string>, dir?: string): MetricsConfig {
  const r = parseMetricsConfig({ main }, dir)
  assert.ok(r.ok, r.ok ? '' : r.errors.join('; '))
  return r.cfg
}

function errors(main: Record<string, string>): string[] {
  const r = parseMetricsConfig({ main })
  assert.ok(!r.ok)
  return r.errors
}

test('defaults: no listener, /metrics, no basic auth', () => {
  const cfg = parse({})
  assert.equal(cfg.address, undefined)
  assert.equal(cfg.path, '/metrics')
  assert.equal(cfg.user, '')
  assert.equal(cfg.secret, '')
  assert.equal(cfg.scrape_timeout, 3000)
  assert.deepEqual(metricsWarnings(cfg), [])
})

test('listen: a port alone is on 127.0.0.1; host:port and [v6]:port', () => {
  assert.deepEqual(listenAddress('9187'), { host: '127.0.0.1', port: 9187 })
  assert.deepEqual(listenAddress('0.0.0.0:9187'), { host: '0.0.0.0', port: 9187 })
  assert.deepEqual(listenAddress('[::1]:9187'), { host: '::1', port: 9187 })
  assert.deepEqual(parse({ listen: '9187' }).address, { host: '127.0.0.1', port: 9187 })
  assert.match(errors({ listen: 'nine' }).join(), /listen/)
  assert.match(errors({ listen: '99999' }).join(), /port 99999/)
})

test('loopback hosts', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.ok(isLoopbackHost(h), h)
  for (const h of ['0.0.0.0', '::', '10.0.0.1', 'metrics.example.com']) assert.ok(!isLoopbackHost(h), h)
})

test('basic auth needs user and a password; not both password and password_file', () => {
  assert.match(errors({ user: 'prom' }).join(), /user: needs password/)
  assert.match(errors({ password: 'x' }).join(), /password: needs user/)
  assert.match(errors({ user: 'p', password: 'x', password_file: 'f' }).join(), /not both/)
  assert.match(errors({ user: 'a:b', password: 'x' }).join(), /user/)
  const cfg = parse({ user: 'prom', password: ' s3cret ' })
  assert.equal(cfg.secret, ' s3cret ', 'the password is the exact text')
})

test('a non-loopback listener without basic auth is warned about; with it, not', () => {
  const open = parse({ listen: '0.0.0.0:9187' })
  assert.match(metricsWarnings(open).join(), /reachable from other hosts and has no basic auth/)
  assert.deepEqual(metricsWarnings(parse({ listen: '0.0.0.0:9187', user: 'p', password: 'x' })), [])
  assert.deepEqual(metricsWarnings(parse({ listen: '9187' })), [])
})

test('password_file: its first line, relative to the instance; world-readable is warned about', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'metrics-cfg-'))
  try {
    writeFileSync(path.join(dir, 'metrics.pass'), 'from-the-file\nignored\n')
    chmodSync(path.join(dir, 'metrics.pass'), 0o640)
    const cfg = parse({ user: 'prom', password_file: 'metrics.pass' }, dir)
    assert.equal(cfg.secret, 'from-the-file')
    assert.deepEqual(metricsWarnings(cfg), [])
    chmodSync(path.join(dir, 'metrics.pass'), 0o644)
    const readable = parse({ user: 'prom', password_file: 'metrics.pass' }, dir)
    assert.match(
      metricsWarnings(readable).join(),
      /password_file: .* readable by every local user \(mode 644\)/,
    )
    const r = parseMetricsConfig({ main: { user: 'prom', password_file: 'missing' } }, dir)
    assert.ok(!r.ok && /cannot read/.test(r.errors.join()))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('unknown options are errors', () => {
  assert.match(errors({ port: '9187' }).join(), /port: unknown option/)
})
