// The session identity ldap_auth records (lib/authn/identity) and proxy_logins on
// the directory entry, against the real slapd: what it matches, what it returns,
// and a case-exact login attribute that keeps "Karl" and "karl" apart.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { parseAuthConfig } from '../../lib/authn/config'
import { identityRuleFor } from '../../lib/authn/identity'
import { verifyCredentials, type Verdict } from '../../lib/authn/verify'
import { testDirectoryConfig, TestDirectories } from '../harness/directories'
import { startSlapd, type Slapd } from '../harness/slapd'
import { ALICE, DEMO_LDIF, FIXTURE_DIR } from '../harness/stack'

let slapd: Slapd
const dirs = new TestDirectories()

before(async () => {
  slapd = await startSlapd({
    ldif: [DEMO_LDIF, path.join(FIXTURE_DIR, 'identity-people.ldif')],
    schemas: [path.join(FIXTURE_DIR, 'directory-extras.schema')],
  })
})
after(async () => {
  await dirs.closeAll()
  await slapd?.dispose()
})

/** verifyCredentials as ldap_auth calls it, for ldap_directory.ini `directory` and ldap_auth.ini `auth`. */
function verifier(directory: Record<string, unknown>, auth: Record<string, unknown> = {}) {
  const dirCfg = testDirectoryConfig(slapd.url, directory)
  const cfg = parseAuthConfig({ main: auth })
  assert.ok(cfg.ok)
  const ctx = {
    directory: dirs.open(slapd.url, directory),
    mode: dirCfg.mode as 'search' | 'template',
    identityRule: identityRuleFor(dirCfg),
    cfg: cfg.cfg,
    readStateAsService: Boolean(dirCfg.bind_dn),
  }
  return (authcid: string, password: string, authzid = ''): Promise<Verdict> =>
    verifyCredentials(ctx, { authcid, authzid, password })
}

const label = (v: Verdict) => [v.outcome, `${v.rule}(${v.reason})`, v.user]

describe('the identity is the value the directory matched, as it holds it', () => {
  test('default user_filter: the uid or the address the login matched, in the entry\u2019s spelling', async () => {
    const login = verifier({ base_dn: 'dc=example,dc=com' })
    assert.deepEqual(label(await login('ALICE@EXAMPLE.COM', ALICE.password)), [
      'OK',
      'authn(bind_ok)',
      'alice@example.com',
    ])
    assert.deepEqual(label(await login('A.Liddell@example.com', ALICE.password)), [
      'OK',
      'authn(bind_ok)',
      'a.liddell@example.com',
    ])
    assert.deepEqual(label(await login('Alice', ALICE.password)), ['OK', 'authn(bind_ok)', 'alice'])
  })

  test('AD user_filter: sAMAccountName=%l (the domain ignored) or userPrincipalName=%u (all of it)', async () => {
    const login = verifier({
      base_dn: 'dc=example,dc=com',
      user_filter: '(&(objectClass=adLikeUser)(|(sAMAccountName=%l)(userPrincipalName=%u)))',
    })
    assert.deepEqual(label(await login('dorae@ceo.example', 'pw-dora')), ['OK', 'authn(bind_ok)', 'DoraE'])
    assert.deepEqual(label(await login('DORA.EXPLORER@corp.example', 'pw-dora')), [
      'OK',
      'authn(bind_ok)',
      'dora.explorer@corp.example',
    ])
    const junk = await login('dorae@x; dkim=pass header.d=bank.example', 'pw-dora')
    assert.deepEqual(label(junk), ['ACCOUNT_REFUSED', 'authz(ignored_login_text)', undefined])
    assert.equal(
      (await login('dorae@x; dkim=pass', 'wrong')).reason,
      'invalid_credentials',
      'a wrong password is only that',
    )
  })

  test('template mode uid=%l: the uid as the entry holds it (read as bind_dn), never the domain', async () => {
    const login = verifier({
      mode: 'template',
      dn_template: 'uid=%l,ou=people,dc=example,dc=com',
      base_dn: '',
    })
    assert.deepEqual(label(await login('ALICE@ceo.example', ALICE.password)), [
      'OK',
      'authn(bind_ok)',
      'alice',
    ])
    const junk = await login('alice@x; dkim=pass header.d=bank.example', ALICE.password)
    assert.deepEqual(label(junk), ['ACCOUNT_REFUSED', 'authz(ignored_login_text)', undefined])
    // Without bind_dn the user's own bind reads the uid.
    const own = verifier({
      mode: 'template',
      dn_template: 'uid=%l,ou=people,dc=example,dc=com',
      base_dn: '',
      bind_dn: '',
      bind_password: '',
    })
    assert.deepEqual(label(await own('ALICE@ceo.example', ALICE.password)), ['OK', 'authn(bind_ok)', 'alice'])
  })
})

describe('proxy_logins on the directory entry', () => {
  const exact = {
    base_dn: 'dc=example,dc=com',
    user_filter: '(&(objectClass=inetOrgPerson)(uid:caseExactMatch:=%u))',
  }

  test('a Kelvin sign login (U+212A, "Karl" after NFC) is Karl, not the proxy login "karl"', async () => {
    const login = verifier(exact, { proxy_logins: 'karl' })
    assert.deepEqual(
      label(await login('\u212Aarl', 'pw-Karl')),
      ['OK', 'authn(bind_ok)', 'Karl'],
      'Karl is himself',
    )
    const r = await login('\u212Aarl', 'pw-Karl', 'alice')
    assert.deepEqual(label(r), ['AUTHZID_REFUSED', 'authz(authzid_not_permitted)', undefined])
    const relay = await login('karl', 'pw-karl', 'alice')
    assert.deepEqual(
      [...label(relay), relay.identity, relay.proxy],
      ['OK', 'authn(bind_ok)', 'alice', 'karl', true],
    )
  })

  test('the privilege is the entry\u2019s, whatever login names it; the authzid is its entry\u2019s identity', async () => {
    const login = verifier({ base_dn: 'dc=example,dc=com' }, { proxy_logins: 'alice' })
    const byAddress = await login('Alice@Example.com', ALICE.password, 'BOB@example.com')
    assert.deepEqual(
      [...label(byAddress), byAddress.identity],
      ['OK', 'authn(bind_ok)', 'bob@example.com', 'alice@example.com'],
    )
    assert.deepEqual(label(await login('alice', ALICE.password, 'nobody@example.com')), [
      'AUTHZID_REFUSED',
      'authz(authzid_unknown)',
      undefined,
    ])
    assert.deepEqual(label(await login('bob', 'can-we-fix-it', 'alice')), [
      'AUTHZID_REFUSED',
      'authz(authzid_not_permitted)',
      undefined,
    ])
  })
})
