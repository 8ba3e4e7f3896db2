import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { authWarnings, failureDelayMs, parseAuthConfig } from '../lib/auth/config'
import { booleanKeys } from '../lib/config/schema'
import { directoryWarnings, parseDirectoryConfig } from '../lib/ldap/config'
import { parseRelayConfig, RELAY_SPEC, relayWarnings } from '../lib/relay/config'
import { parseSinkConfig } from '../lib/sink/config'
import { parseStampConfig } from '../lib/stamp/config'

describe('ldap_auth.ini', () => {
  test('defaults to PLAIN and LOGIN', () => {
    const r = parseAuthConfig({})
    assert.ok(r.ok)
    assert.deepEqual(r.cfg.mechanismList, ['PLAIN', 'LOGIN'])
  })
  test('safe defaults: 3 failures, every account check and cache and local file off', () => {
    const r = parseAuthConfig({})
    assert.ok(r.ok)
    assert.equal(r.cfg.max_failures, 3)
    assert.equal(r.cfg.cache_ttl, 0)
    assert.equal(r.cfg.cache_when_directory_down, false)
    assert.equal(r.cfg.local_users, 'off')
    assert.equal(r.cfg.account.requireGroup, '')
    assert.equal(r.cfg.proxyLogins.size, 0)
    assert.deepEqual(authWarnings(r.cfg), [])
  })
  test('the failure delay doubles from failure_delay up to failure_delay_max', () => {
    const r = parseAuthConfig({})
    assert.ok(r.ok)
    assert.deepEqual([1, 2, 3, 4, 5, 50].map((n) => failureDelayMs(r.cfg, n)), [1000, 2000, 4000, 8000, 8000, 8000])
    assert.equal(failureDelayMs({ failure_delay: 0, failure_delay_max: 0 }, 3), 0)
    const bad = parseAuthConfig({ main: { failure_delay: 5000, failure_delay_max: 1000 } })
    assert.ok(!bad.ok)
    assert.match(bad.errors.join(), /failure_delay_max: must not be below failure_delay/)
  })
  test('cross-field rules and weakening options', () => {
    const fallback = parseAuthConfig({ main: { local_users: 'first', local_users_when_directory_down: true } })
    assert.ok(!fallback.ok)
    assert.match(fallback.errors.join(), /needs local_users=last/)
    assert.match((parseAuthConfig({ main: { require_group: 'not a dn' } }) as { errors: string[] }).errors.join(), /require_group: not a DN/)
    assert.match((parseAuthConfig({ main: { disabled_attribute: 'a b' } }) as { errors: string[] }).errors.join(), /disabled_attribute/)
    const weak = parseAuthConfig({ main: { cache_ttl: 60, cache_when_directory_down: true, local_users: 'last', local_users_when_directory_down: true, proxy_logins: 'admin@example.com' } })
    assert.ok(weak.ok)
    const w = authWarnings(weak.cfg).join('\n')
    assert.match(w, /cache_when_directory_down=true/)
    assert.match(w, /local_users_when_directory_down=true/)
    assert.match(w, /admin@example\.com may act as any other login/)
  })
  test('refuses mechanisms we do not implement', () => {
    const r = parseAuthConfig({ main: { mechanisms: 'PLAIN,CRAM-MD5' } })
    assert.ok(!r.ok)
    assert.match(r.errors.join(), /"CRAM-MD5" is not PLAIN or LOGIN/)
  })
})

describe('auth_relay.ini', () => {
  test('safe defaults: nobody trusted, sender enforced, null sender refused', () => {
    const r = parseRelayConfig({})
    assert.ok(r.ok)
    assert.equal(r.cfg.trusted.length, 0)
    assert.equal(r.cfg.enforce_sender, true)
    assert.equal(r.cfg.allow_null_sender, false)
    assert.deepEqual([...r.cfg.submissionPorts], [587, 465])
  })
  test('trusted networks must be CIDR ranges', () => {
    const r = parseRelayConfig({ main: { trusted_networks: '10.0.0.0/8, nonsense' } })
    assert.ok(!r.ok)
    assert.match(r.errors.join(), /"nonsense" is not a CIDR range/)
  })
  test('booleans are declared to haraka-config with their defaults', () => {
    assert.deepEqual(booleanKeys('main', RELAY_SPEC).sort(), ['+main.enforce_sender', '-main.allow_null_sender'])
  })
})

describe('auth_stamp.ini and eml_sink.ini', () => {
  test('identity header must be a header name', () => {
    const r = parseStampConfig({ main: { identity_header: 'X Bad:Name' } })
    assert.ok(!r.ok)
    assert.ok(parseStampConfig({}).ok)
  })
  test('sink dir defaults to mail', () => {
    const r = parseSinkConfig({})
    assert.ok(r.ok)
    assert.equal(r.cfg.dir, 'mail')
  })
})

describe('weakening options are linted', () => {
  test('relay: open ranges, loopback, observe mode and null sender warn', () => {
    const r = parseRelayConfig({ main: { trusted_networks: '0.0.0.0/0,127.0.0.0/8', enforce_sender: false, allow_null_sender: true } })
    assert.ok(r.ok)
    const w = relayWarnings(r.cfg).join('\n')
    assert.match(w, /0\.0\.0\.0\/0 makes this an open relay/)
    assert.match(w, /127\.0\.0\.0\/8 trusts local processes/)
    assert.match(w, /enforce_sender=false/)
    assert.match(w, /allow_null_sender=true/)
    const safe = parseRelayConfig({})
    assert.ok(safe.ok)
    assert.deepEqual(relayWarnings(safe.cfg), [])
  })

  test('directory: unverified TLS and cleartext passwords to a remote server warn', () => {
    const base = { bind_dn: 'cn=x', bind_password: 'y', base_dn: 'dc=x' }
    const r = parseDirectoryConfig({ main: { ...base, servers: 'ldap://ldap.example.com,ldaps://b', tls_reject_unauthorized: false } })
    assert.ok(r.ok)
    const w = directoryWarnings(r.cfg).join('\n')
    assert.match(w, /not verified/)
    assert.match(w, /ldap:\/\/ldap\.example\.com: passwords go to the directory unencrypted/)
    assert.doesNotMatch(w, /ldaps:\/\/b:/)
    const local = parseDirectoryConfig({ main: { ...base, servers: 'ldap://127.0.0.1:3389' } })
    assert.ok(local.ok)
    assert.deepEqual(directoryWarnings(local.cfg), [])
  })
})
