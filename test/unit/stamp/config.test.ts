// lib/stamp/config: auth_stamp.ini, its cross-field rules, keys and warnings.
import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { booleanKeys } from '../../../lib/config/schema'
import { describeStamp, parseStampConfig, STAMP_SPEC, stampWarnings } from '../../../lib/stamp/config'

const SECRET = 'a-secret-that-is-long-enough-32b!'
const dir = mkdtempSync(path.join(tmpdir(), 'stamp-config-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function errors(main: Record<string, unknown>): string {
  const r = parseStampConfig({ main }, { baseDir: dir })
  assert.ok(!r.ok, 'expected a config error')
  return r.errors.join('\n')
}

function ok(main: Record<string, unknown>) {
  const r = parseStampConfig({ main }, { baseDir: dir })
  if (!r.ok) assert.fail(r.errors.join('; '))
  return r.cfg
}

describe('auth_stamp.ini defaults', () => {
  test('identity header with the login, smtp.mailfrom on, login not in Received, no signing', () => {
    const cfg = ok({})
    assert.equal(cfg.identity_header, 'X-Authenticated-User')
    assert.equal(cfg.identity_value, 'login')
    assert.equal(cfg.auth_results_mailfrom, true)
    assert.equal(cfg.received_login, false)
    assert.equal(cfg.add_date_message_id, true)
    assert.equal(cfg.sign, false)
    assert.equal(cfg.verify, false)
    assert.equal(cfg.signingKey, undefined)
    assert.deepEqual([...cfg.identityNames], ['x-authenticated-user'])
    assert.deepEqual([...cfg.stampNames], ['x-auth-stamp'])
    assert.deepEqual(stampWarnings(cfg), [])
  })

  test('booleans are declared to haraka-config with their defaults', () => {
    assert.deepEqual(booleanKeys('main', STAMP_SPEC).sort(), [
      '+main.add_date_message_id',
      '+main.auth_results_mailfrom',
      '-main.received_login',
      '-main.sign',
      '-main.verify',
    ])
  })

  test('renamed headers: the new and the default names are both stripped', () => {
    const cfg = ok({ identity_header: 'X-Submitted-By', stamp_header: 'X-Our-Stamp' })
    assert.deepEqual([...cfg.identityNames].sort(), ['x-authenticated-user', 'x-submitted-by'])
    assert.deepEqual([...cfg.stampNames].sort(), ['x-auth-stamp', 'x-our-stamp'])
  })
})

describe('auth_stamp.ini rules', () => {
  test('header names: valid, not standard, not the same twice', () => {
    assert.match(
      errors({ identity_header: 'X Bad:Name' }),
      /identity_header: "X Bad:Name" is not a header field name/,
    )
    assert.match(errors({ identity_header: 'From' }), /identity_header: from is a standard header/)
    assert.match(
      errors({ stamp_header: 'Authentication-Results' }),
      /stamp_header: authentication-results is a standard header/,
    )
    assert.match(
      errors({ stamp_header: 'x-authenticated-user' }),
      /stamp_header: must differ from identity_header/,
    )
  })

  test('identity_value and address_attribute', () => {
    assert.match(errors({ identity_value: 'dn' }), /identity_value: "dn" is not one of login, address/)
    assert.match(
      errors({ address_attribute: 'mail;binary' }),
      /address_attribute: .* is not an LDAP attribute name/,
    )
    assert.equal(
      ok({ identity_value: 'ADDRESS', address_attribute: 'proxyAddresses' }).identity_value,
      'address',
    )
  })

  test('sign and verify need a key id and a secret of at least 32 bytes', () => {
    assert.match(errors({ sign: true }), /key_id: required with sign=true/)
    assert.match(errors({ verify: true }), /key_id: required with verify=true/)
    assert.match(errors({ sign: true, key_id: 'k1' }), /key: required with key_id/)
    const short = errors({ sign: true, key_id: 'k1', key: 'too-short-secret' })
    assert.match(short, /key: the secret must be at least 32 bytes \(it has 16\)/)
    assert.ok(!short.includes('too-short-secret'), 'the secret is never in an error')
    assert.match(errors({ key: SECRET }), /key_id: required with key/)
    assert.match(errors({ key_id: 'k 1' }), /key_id: "k 1" is not a key id/)
    const cfg = ok({ sign: true, key_id: 'k1', key: SECRET })
    assert.equal(cfg.signingKey?.id, 'k1')
    assert.deepEqual(
      cfg.verifyKeys.map((k) => k.id),
      ['k1'],
    )
  })

  test('a secret that a reader turned into a number is refused, not used as its digits', () => {
    assert.match(
      errors({ sign: true, key_id: 'k1', key: 12345678901234567890123456789012 }),
      /key: was read as a number/,
    )
  })

  test('rotation: a previous key for verification, with its own id', () => {
    const cfg = ok({
      verify: true,
      key_id: 'k2',
      key: SECRET,
      previous_key_id: 'k1',
      previous_key: `${SECRET}-old`,
    })
    assert.deepEqual(
      cfg.verifyKeys.map((k) => k.id),
      ['k2', 'k1'],
    )
    assert.match(
      errors({ key_id: 'k1', key: SECRET, previous_key_id: 'k1', previous_key: SECRET }),
      /previous_key_id: must differ from key_id/,
    )
    assert.match(errors({ previous_key: SECRET }), /previous_key_id: required with previous_key/)
  })

  test('key_file: read relative to the instance, trimmed; mode warning; not together with key', () => {
    const file = path.join(dir, 'stamp.key')
    writeFileSync(file, `${SECRET}\n`)
    chmodSync(file, 0o644)
    const open = ok({ sign: true, key_id: 'k1', key_file: 'stamp.key' })
    const same = ok({ sign: true, key_id: 'k1', key: SECRET })
    assert.deepEqual(open.signingKey?.mac('x'), same.signingKey?.mac('x'))
    assert.match(
      stampWarnings(open).join('\n'),
      /key_file: .*stamp\.key is readable by group or others \(mode 644\); chmod 600 it/,
    )
    chmodSync(file, 0o600)
    assert.deepEqual(stampWarnings(ok({ sign: true, key_id: 'k1', key_file: file })), [])
    assert.match(
      errors({ sign: true, key_id: 'k1', key_file: 'missing.key' }),
      /key_file: cannot read .*missing\.key \(ENOENT\)/,
    )
    assert.match(
      errors({ sign: true, key_id: 'k1', key: SECRET, key_file: file }),
      /key_file: give key or key_file, not both/,
    )
    writeFileSync(path.join(dir, 'short.key'), 'short\n')
    assert.match(
      errors({ sign: true, key_id: 'k1', key_file: 'short.key' }),
      /key_file: the secret must be at least 32 bytes \(it has 5\)/,
    )
  })

  test('max_age is bounded', () => {
    assert.match(errors({ max_age: -1 }), /max_age: -1 is not a whole number from 0 to 31536000/)
  })

  test('verify_peers: CIDR ranges in standard notation (lib/net/networks), empty by default', () => {
    assert.deepEqual(ok({}).verifyPeers, [])
    const peers = ok({
      verify: true,
      key_id: 'k1',
      key: SECRET,
      verify_peers: '192.0.2.0/24, 2001:db8::/32',
    }).verifyPeers
    assert.deepEqual(
      peers.map(([r, b]) => `${r.toString()}/${b}`),
      ['192.0.2.0/24', '2001:db8::/32'],
    )
    assert.match(
      errors({ verify_peers: '010.0.0.0/8' }),
      /\[main\] verify_peers: "010\.0\.0\.0\/8" is not a CIDR range such as 192\.0\.2\.0\/24/,
    )
    assert.match(
      errors({ verify_peers: '::ffff:10.0.0.0/104' }),
      /verify_peers: .* \(IPv4-mapped; write it as 10\.0\.0\.0\/8\)/,
    )
  })
})

describe('warnings and the load line', () => {
  test('received_login and never-expiring verified stamps warn', () => {
    const w = stampWarnings(
      ok({ received_login: true, verify: true, key_id: 'k1', key: SECRET, max_age: 0 }),
    ).join('\n')
    assert.match(w, /received_login=true: the Received line names the login/)
    assert.match(w, /max_age=0: verified stamps never expire/)
  })

  test('sign=true with add_date_message_id=false warns: such messages are not signed', () => {
    const w = stampWarnings(ok({ sign: true, key_id: 'k1', key: SECRET, add_date_message_id: false }))
    assert.deepEqual(w, [
      'sign=true with add_date_message_id=false: a message that lacks Message-ID or Date is not signed (sign(no_message_id), sign(no_date))',
    ])
    assert.deepEqual(
      stampWarnings(ok({ add_date_message_id: false })),
      [],
      'without sign: nothing to warn about',
    )
  })

  test('verify=true with verify_peers empty warns: a stamp from any peer is checked', () => {
    const base = { verify: true, key_id: 'k1', key: SECRET }
    assert.match(
      stampWarnings(ok(base)).join('\n'),
      /verify=true with verify_peers empty: a stamp from any unauthenticated peer is checked/,
    )
    assert.deepEqual(stampWarnings(ok({ ...base, verify_peers: '192.0.2.0/24' })), [])
    assert.deepEqual(stampWarnings(ok({})), [])
  })

  test('describeStamp says what the plugin does and never shows a secret', () => {
    const line = describeStamp(
      ok({
        sign: true,
        verify: true,
        key_id: 'k2',
        key: SECRET,
        previous_key_id: 'k1',
        previous_key: `${SECRET}x`,
      }),
    )
    assert.equal(
      line,
      'identity X-Authenticated-User (login); A-R smtp.mailfrom on; Received names login no; adds missing Date/Message-ID yes; sign X-Auth-Stamp kid=k2; verify X-Auth-Stamp kid=k2,k1 max_age=604800s',
    )
    assert.ok(!line.includes(SECRET))
  })
})

describe('bare_cr', () => {
  test('refuse by default; remove and allow are accepted, anything else is an error', () => {
    assert.equal(ok({}).bare_cr, 'refuse')
    assert.equal(ok({ bare_cr: 'remove' }).bare_cr, 'remove')
    assert.equal(ok({ bare_cr: 'allow' }).bare_cr, 'allow')
    assert.match(errors({ bare_cr: 'normalize' }), /\[main\] bare_cr: .*normalize/)
  })

  test('allow warns at load; remove and allow are named in the load line', () => {
    assert.match(
      stampWarnings(ok({ bare_cr: 'allow' })).join('\n'),
      /bare_cr=allow: a message with a bare CR is delivered as sent/,
    )
    assert.deepEqual(stampWarnings(ok({ bare_cr: 'remove' })), [])
    assert.match(describeStamp(ok({ bare_cr: 'remove' })), /; bare CR removed$/)
    assert.match(describeStamp(ok({ bare_cr: 'allow' })), /; bare CR allowed$/)
    assert.doesNotMatch(describeStamp(ok({})), /bare CR/)
  })
})
