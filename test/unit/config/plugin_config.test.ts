import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { authWarnings, failureDelayMs, parseAuthConfig } from '../../../lib/authn/config'
import { booleanKeys } from '../../../lib/config/schema'
import { directoryWarnings, parseDirectoryConfig } from '../../../lib/ldap/config'
import { parseRelayConfig, RELAY_SPEC, relayWarnings } from '../../../lib/relay/config'
import { parseSinkConfig } from '../../../demo/sink/config'
import { parseStampConfig } from '../../../lib/stamp/config'

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
    assert.deepEqual(
      [1, 2, 3, 4, 5, 50].map((n) => failureDelayMs(r.cfg, n)),
      [1000, 2000, 4000, 8000, 8000, 8000],
    )
    assert.equal(failureDelayMs({ failure_delay: 0, failure_delay_max: 0 }, 3), 0)
    const bad = parseAuthConfig({ main: { failure_delay: 5000, failure_delay_max: 1000 } })
    assert.ok(!bad.ok)
    assert.match(bad.errors.join(), /failure_delay_max: must not be below failure_delay/)
  })
  test('cross-field rules and weakening options', () => {
    const fallback = parseAuthConfig({
      main: { local_users: 'first', local_users_when_directory_down: true },
    })
    assert.ok(!fallback.ok)
    assert.match(fallback.errors.join(), /needs local_users=last/)
    assert.match(
      (parseAuthConfig({ main: { require_group: 'not a dn' } }) as { errors: string[] }).errors.join(),
      /require_group: not a DN/,
    )
    assert.match(
      (parseAuthConfig({ main: { disabled_attribute: 'a b' } }) as { errors: string[] }).errors.join(),
      /disabled_attribute/,
    )
    const weak = parseAuthConfig({
      main: {
        cache_ttl: 60,
        cache_when_directory_down: true,
        local_users: 'last',
        local_users_when_directory_down: true,
        proxy_logins: 'admin@example.com',
      },
    })
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
    for (const bad of ['010.0.0.0/8', '192.168.010.0/24', '10.1/16', '::ffff:10.0.0.0/104']) {
      const p = parseRelayConfig({ main: { trusted_networks: bad, mail_auth_peers: bad } })
      assert.ok(!p.ok, bad)
      assert.equal(p.errors.length, 2, bad)
      assert.match(p.errors[0]!, /^\[main\] trusted_networks: .* is not a CIDR range/, bad)
      assert.match(p.errors[1]!, /^\[main\] mail_auth_peers: .* is not a CIDR range/, bad)
    }
  })
  test('booleans are declared to haraka-config with their defaults', () => {
    assert.deepEqual(booleanKeys('main', RELAY_SPEC).sort(), [
      '+main.enforce_sender',
      '-main.allow_null_sender',
      '-main.pop_before_smtp_redis',
      '-main.verify_recipients',
    ])
  })
  test('safe defaults for the relay-trick, header, AUTH= and POP-before-SMTP options', () => {
    const r = parseRelayConfig({})
    assert.ok(r.ok)
    assert.equal(r.cfg.header_alignment, 'refuse')
    assert.equal(r.cfg.inbound_local_sender, 'accept')
    assert.equal(r.cfg.verify_recipients, false)
    assert.equal(r.cfg.subaddress_separator, '')
    assert.equal(r.cfg.mailAuthPeers.length, 0)
    assert.equal(r.cfg.popBeforeSmtp, false)
    assert.equal(r.cfg.pop_before_smtp_ttl, 600)
    assert.equal(r.cfg.sendAs.size, 0)
  })
  test('[send_as]: canonical shared address -> group DN; bad lines are errors', () => {
    const r = parseRelayConfig({ send_as: { 'Sales@Example.com': 'cn=sales,ou=groups,dc=example,dc=com' } })
    assert.ok(r.ok)
    assert.deepEqual([...r.cfg.sendAs], [['sales@example.com', 'cn=sales,ou=groups,dc=example,dc=com']])
    const bad = parseRelayConfig({ send_as: { sales: 'cn=sales,dc=x', 'ops@example.com': 'not a dn' } })
    assert.ok(!bad.ok)
    assert.match(bad.errors.join('\n'), /\[send_as\] sales: not an address/)
    assert.match(bad.errors.join('\n'), /\[send_as\] ops@example.com: "not a dn" is not a group DN/)
  })
  test('unknown sections, bad filters, IPs, CIDRs, separators and enum values are errors', () => {
    const r = parseRelayConfig({
      main: {
        recipient_filter: '(mail=%x)',
        local_ips: '127.0.0.1,nope',
        mail_auth_peers: '10.0.0.0/99',
        subaddress_separator: '++',
        header_alignment: 'maybe',
      },
      sendas: {},
    })
    assert.ok(!r.ok)
    const e = r.errors.join('\n')
    assert.match(e, /\[sendas\]: unknown section/)
    assert.match(e, /\[main\] recipient_filter: unknown placeholder %x/)
    assert.match(e, /\[main\] local_ips: "nope" is not an IP address/)
    assert.match(e, /\[main\] mail_auth_peers: "10.0.0.0\/99" is not a CIDR range/)
    assert.match(e, /\[main\] subaddress_separator: "\+\+" is not one of/)
    assert.match(e, /\[main\] header_alignment: "maybe" is not one of refuse, add_sender, off/)
    const unbalanced = parseRelayConfig({
      main: { recipient_filter: '(|(mail=%u)(mailAlternateAddress=%u)' },
    })
    assert.ok(!unbalanced.ok)
    assert.match(unbalanced.errors.join(), /recipient_filter: not a valid LDAP filter/)
  })
  test('local_ips are normalised; POP-before-SMTP is on with either source', () => {
    const r = parseRelayConfig({
      main: { local_ips: '::ffff:192.0.2.25, 2001:DB8::25', pop_before_smtp_file: 'run/grants' },
    })
    assert.ok(r.ok)
    assert.deepEqual([...r.cfg.localIps], ['192.0.2.25', '2001:db8::25'])
    assert.equal(r.cfg.popBeforeSmtp, true)
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
    const r = parseRelayConfig({
      main: { trusted_networks: '0.0.0.0/0,127.0.0.0/8', enforce_sender: false, allow_null_sender: true },
    })
    assert.ok(r.ok)
    const w = relayWarnings(r.cfg).join('\n')
    assert.match(w, /0\.0\.0\.0\/0 makes this an open relay/)
    assert.match(w, /127\.0\.0\.0\/8 trusts local processes/)
    assert.match(w, /enforce_sender=false/)
    assert.match(w, /allow_null_sender=true/)
    const more = parseRelayConfig({
      main: { mail_auth_peers: '0.0.0.0/0', header_alignment: 'off', pop_before_smtp_redis: true },
    })
    assert.ok(more.ok)
    const w2 = relayWarnings(more.cfg).join('\n')
    assert.match(w2, /mail_auth_peers: 0\.0\.0\.0\/0 believes AUTH=<mailbox> for every address/)
    assert.match(w2, /header_alignment=off/)
    assert.match(
      w2,
      /POP\/IMAP-before-SMTP is on: an IP that logged in .* in the last 600 s may relay without AUTH/,
    )
    const wide = parseRelayConfig({
      main: {
        trusted_networks: '10.0.0.0/8,0.0.0.0/1,2000::/3,2001:db8::/32',
        mail_auth_peers: '10.0.0.0/7,2001::/31',
      },
    })
    assert.ok(wide.ok)
    assert.deepEqual(relayWarnings(wide.cfg), [
      'trusted_networks: 0.0.0.0/1 is a very wide range (an IPv4 prefix shorter than /8): every client in it may relay without AUTH',
      'trusted_networks: 2000::/3 is a very wide range (an IPv6 prefix shorter than /32): every client in it may relay without AUTH',
      'mail_auth_peers: 10.0.0.0/7 is a very wide range (an IPv4 prefix shorter than /8): believes AUTH=<mailbox> for every client in it',
      'mail_auth_peers: 2001::/31 is a very wide range (an IPv6 prefix shorter than /32): believes AUTH=<mailbox> for every client in it',
    ])
    const safe = parseRelayConfig({})
    assert.ok(safe.ok)
    assert.deepEqual(relayWarnings(safe.cfg), [])
    const plus = parseRelayConfig({ main: { subaddress_separator: '+' } })
    assert.ok(plus.ok)
    assert.deepEqual(relayWarnings(plus.cfg), [])
    const dot = parseRelayConfig({ main: { subaddress_separator: '.' } })
    assert.ok(dot.ok)
    assert.match(
      relayWarnings(dot.cfg).join('\n'),
      /subaddress_separator=\.: "\." is common in ordinary addresses/,
    )
  })

  test('directory: unverified TLS and cleartext passwords to a remote server warn', () => {
    const base = { bind_dn: 'cn=x', bind_password: 'y', base_dn: 'dc=x' }
    const r = parseDirectoryConfig({
      main: { ...base, servers: 'ldap://ldap.example.com,ldaps://b', tls_reject_unauthorized: false },
    })
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
