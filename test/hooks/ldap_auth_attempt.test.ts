// plugins/ldap_auth/attempt on haraka-test-fixtures connections with a fake
// directory: the AUTH deadline inside Haraka's plugin timeout, late verdicts
// dropped, failure delays cut to the time left; a directory reload during an
// attempt. (On real Haraka and slapd: test/e2e/auth_deadline.test.ts.)
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import constants from 'haraka-constants'
import { hookDeadlineMs } from '../../lib/deadline'
import type { Credentials } from '../../lib/authn/sasl'
import { CredentialCache } from '../../lib/authn/cache'
import { DirectoryHandle } from '../../lib/ldap/handle'
import { verifyAttempt, type AttemptPlugin } from '../../plugins/ldap_auth/attempt'
import { load_ldap_auth_ini, load_ldap_directory_ini } from '../../plugins/ldap_auth/hooks'
import { fakeDirectory, fakeDirectoryConfig, type FakeEntry } from '../harness/fake_directory'
import { ALICE_DN, aliceDirectory, fakeLdapAuthPlugin, fixturesConnection } from '../harness/ldap_auth_plugin'

/** The shared fake with alice (password `password`), holding every request until `release()` is called. */
function gatedDirectory(password: string) {
  const fake = aliceDirectory(password)
  let open: () => void = () => undefined
  const arm = () => (fake.state.hold = new Promise<void>((resolve) => (open = resolve)))
  arm()
  return {
    ...fake,
    release() {
      open()
      arm()
    },
  }
}

/** The plugin before its ini files are loaded, logging into `log`. */
function testPlugin(fields: Record<string, unknown>, log: (msg: string) => void): AttemptPlugin {
  const levels = { logdebug: log, loginfo: log, lognotice: log, logwarn: log, logerror: log }
  return { name: 'ldap_auth', localUsers: undefined, ...levels, ...fields } as unknown as AttemptPlugin
}

function setup(opts: { timeout: number; auth?: Record<string, unknown> }) {
  const fake = gatedDirectory('right')
  const { plugin, logs, log } = fakeLdapAuthPlugin({ auth: opts.auth, timeout: opts.timeout, dir: fake })
  const { c, replies, nexts, run } = session(plugin, log)
  return { plugin, fake, c, replies, nexts, logs, run }
}

/** A fixtures connection recording replies and next() calls; run() is one PLAIN attempt for alice. */
function session(plugin: AttemptPlugin, log: (msg: string) => void) {
  const c = fixturesConnection({ log })
  const replies: { code: number; msg: string; at: number }[] = []
  const nexts: { code: number | undefined; at: number }[] = []
  const t0 = Date.now()
  c.respond = (code: number, msg: string, cb?: () => void) => {
    replies.push({ code, msg, at: Date.now() - t0 })
    cb?.()
  }
  const run = (password: string) =>
    verifyAttempt(plugin, (code?: number) => void nexts.push({ code, at: Date.now() - t0 }), c, {
      mech: 'PLAIN',
      authcid: 'alice@example.com',
      authzid: '',
      password,
    } as Credentials)
  return { c, replies, nexts, run }
}

describe('the AUTH deadline', () => {
  test('inside the plugin timeout: 454 4.7.0 before Haraka would say 500, and a late 235 verdict changes nothing', async () => {
    // Haraka's plugin timeout 4 s: the deadline keeps a margin of 1 s (a quarter, at most 2 s).
    const s = setup({ timeout: 4 })
    assert.equal(hookDeadlineMs(s.plugin.cfg.auth_timeout, 4), 3000)
    s.run('right')
    await sleep(3500)
    assert.deepEqual(
      s.replies.map((r) => [r.code, r.msg]),
      [[454, '4.7.0 Temporary authentication failure, try again later']],
    )
    assert.ok(s.replies[0]!.at >= 2900 && s.replies[0]!.at < 4000, `454 after ${s.replies[0]!.at} ms`)
    assert.deepEqual(
      s.nexts.map((n) => n.code),
      [constants.ok],
    )
    assert.deepEqual(s.c.results.get('ldap_auth')?.fail, ['authn(timeout)'])
    // The directory answers now, with the right password: dropped.
    s.fake.release()
    await sleep(100)
    s.fake.release()
    await sleep(100)
    assert.equal(s.replies.length, 1, 'no second reply')
    assert.equal(s.nexts.length, 1, 'next() once')
    assert.equal(s.c.notes.auth_user, undefined)
    assert.equal(s.c.relaying, false)
    assert.deepEqual(s.c.results.get('ldap_auth')?.pass ?? [], [], 'no pass result')
    assert.deepEqual(s.c.results.get('auth')?.pass ?? [], [])
    assert.match(
      s.logs.join('\n'),
      /verdict authn\(bind_ok\) came after \d+ ms, when 454 had been answered: ignored/,
    )
  })

  test('a failure delay is cut to the time left before the deadline', async () => {
    const s = setup({
      timeout: 30,
      auth: { auth_timeout: 1500, failure_delay: 5000, failure_delay_max: 5000 },
    })
    s.run('wrong')
    await sleep(1000)
    s.fake.release()
    await sleep(50)
    s.fake.release()
    await sleep(1500)
    assert.deepEqual(
      s.replies.map((r) => r.code),
      [535],
    )
    assert.ok(
      s.replies[0]!.at >= 1400 && s.replies[0]!.at < 2500,
      `535 after ${s.replies[0]!.at} ms, not after the 5 s delay`,
    )
    assert.equal(s.nexts.length, 1)
  })

  test('an answer in time is unchanged: 235 and the session authenticated; no Haraka timeout: auth_timeout alone', async () => {
    const s = setup({ timeout: 30 })
    s.fake.state.hold = undefined
    s.run('right')
    await sleep(50)
    assert.deepEqual(
      s.replies.map((r) => r.code),
      [235],
    )
    assert.equal(s.c.notes.auth_user, 'alice@example.com')
    assert.equal(s.c.relaying, true)
    assert.equal(hookDeadlineMs(25000, 0), 25000)
    const none = setup({ timeout: 0, auth: { auth_timeout: 1000 } })
    none.run('right')
    await sleep(1300)
    assert.deepEqual(
      none.replies.map((r) => r.code),
      [454],
    )
    none.fake.release()
  })
})

describe('a reload of ldap_directory.ini during an AUTH', () => {
  /** The plugin as register() builds it (the real load_*_ini), on config files held in memory. */
  function reloadable() {
    const files: Record<string, Record<string, any>> = {
      'ldap_auth.ini': { main: { failure_delay: 0, cache_ttl: 300, negative_cache_ttl: 300 } },
      'ldap_directory.ini': {
        main: { base_dn: 'ou=old,dc=example,dc=com', bind_dn: 'cn=x', bind_password: 'x' },
      },
    }
    // The replaced directory knows alice's old password and answers when released; the new one does not.
    const old = gatedDirectory('old-secret')
    const replacement = gatedDirectory('new-secret')
    replacement.state.hold = undefined
    const logs: string[] = []
    const log = (msg: string) => void logs.push(msg)
    const plugin = testPlugin(
      {
        timeout: 30,
        config: { get: (file: string) => files[file] ?? {} },
        directory: new DirectoryHandle((cfg) =>
          cfg.base_dn.startsWith('ou=old') ? old.dir : replacement.dir,
        ),
      },
      log,
    )
    load_ldap_auth_ini.call(plugin as never)
    load_ldap_directory_ini.call(plugin as never)
    const reload = () => {
      files['ldap_directory.ini']!.main.base_dn = 'ou=new,dc=example,dc=com'
      load_ldap_directory_ini.call(plugin as never)
    }
    return { plugin, old, replacement, logs, log, reload }
  }

  test('an attempt on the replaced directory still answers, but its verdict is not cached', async () => {
    const r = reloadable()
    const first = session(r.plugin, r.log)
    first.run('old-secret') // waits in the old directory's search
    await sleep(20)
    r.reload()
    assert.equal(r.plugin.cache.size.positive, 0)
    r.old.release() // the search answers, then the bind
    await sleep(20)
    r.old.release()
    await sleep(50)
    // It began against the old directory and ends there: its own answer stands.
    assert.deepEqual(
      first.replies.map((x) => x.code),
      [235],
    )
    assert.equal(r.plugin.cache.size.positive, 0, 'the late verdict is not stored')

    // The same password again: the new directory decides, not a cache entry the old one left.
    const second = session(r.plugin, r.log)
    second.run('old-secret')
    await sleep(50)
    assert.deepEqual(
      second.replies.map((x) => x.code),
      [535],
    )
    assert.deepEqual(second.c.results.get('ldap_auth')?.fail, ['authn(invalid_credentials)'])
    assert.equal(
      r.replacement.state.searches + r.replacement.state.binds,
      2,
      'search and bind on the new directory',
    )
    const third = session(r.plugin, r.log)
    third.run('new-secret')
    await sleep(50)
    assert.deepEqual(
      third.replies.map((x) => x.code),
      [235],
    )
    assert.equal(r.plugin.cache.size.positive, 1, 'the cache works on the new directory')
  })

  test('nor is a refusal from the replaced directory: the new one is asked', async () => {
    const r = reloadable()
    const first = session(r.plugin, r.log)
    first.run('new-secret') // wrong for the old directory
    await sleep(20)
    r.reload()
    r.old.release()
    await sleep(20)
    r.old.release()
    await sleep(50)
    assert.deepEqual(
      first.replies.map((x) => x.code),
      [535],
    )
    assert.equal(r.plugin.cache.size.negative, 0, 'the late refusal is not stored')
    const second = session(r.plugin, r.log)
    second.run('new-secret')
    await sleep(50)
    assert.deepEqual(
      second.replies.map((x) => x.code),
      [235],
    )
    assert.deepEqual(second.c.results.get('ldap_auth')?.pass, ['authn(bind_ok)'])
  })
})

// The session identity (notes.auth_user, the auth result): the part of the login the directory
// matched, as the entry holds it; never text the directory ignored.
const DEMO_ENTRIES: FakeEntry[] = [
  {
    dn: ALICE_DN,
    password: 'wonderland-42',
    attributes: {
      objectClass: ['inetOrgPerson'],
      uid: ['alice'],
      mail: ['alice@example.com', 'a.liddell@example.com'],
      sAMAccountName: ['alice'],
      userPrincipalName: ['alice@corp.example'],
    },
  },
  {
    dn: 'uid=bob,ou=people,dc=example,dc=com',
    password: 'can-we-fix-it',
    attributes: { objectClass: ['inetOrgPerson'], uid: ['bob'], mail: ['bob@example.com'] },
  },
  {
    dn: 'uid=mailer,ou=services,dc=example,dc=com',
    password: 'mailer-secret',
    attributes: { objectClass: ['inetOrgPerson'], uid: ['mailer'] },
  },
]

function identitySetup(
  directory: Record<string, unknown>,
  opts: { auth?: Record<string, unknown>; entries?: FakeEntry[]; caseExact?: boolean } = {},
) {
  const dirCfg = fakeDirectoryConfig({ base_dn: 'dc=example,dc=com', ...directory })
  const fake = fakeDirectory(dirCfg, opts.entries ?? DEMO_ENTRIES, { caseExact: opts.caseExact })
  const { plugin, logs, log } = fakeLdapAuthPlugin({ auth: opts.auth, dirCfg, dir: fake })
  const c = plugin.cfg
  plugin.cache = new CredentialCache({
    ttlMs: c.cache_ttl * 1000,
    negativeTtlMs: c.negative_cache_ttl * 1000,
    staleMs: 0,
    maxEntries: 10,
  })
  /** One AUTH on a fresh connection; resolves when the hook called next(). */
  const login = async (authcid: string, password: string, authzid = '') => {
    const conn = fixturesConnection({ log })
    const replies: number[] = []
    conn.respond = (code: number, _msg: string, cb?: () => void) => {
      replies.push(code)
      cb?.()
    }
    await new Promise<void>((resolve) =>
      verifyAttempt(plugin, () => resolve(), conn, {
        mech: 'PLAIN',
        authcid,
        authzid,
        password,
      } as Credentials),
    )
    return { code: replies[0], user: conn.notes.auth_user as string | undefined, results: conn.results, conn }
  }
  return { plugin, fake, logs, login }
}

const TEMPLATE = { mode: 'template', dn_template: 'uid=%l,ou=people,dc=example,dc=com' }
const AD_FILTER = { user_filter: '(|(sAMAccountName=%l)(userPrincipalName=%u))' }

describe('the session identity', () => {
  test('template uid=%l: the login alice@ceo.example is recorded as alice, in notes.auth_user and the auth result', async () => {
    const s = identitySetup(TEMPLATE)
    const r = await s.login('alice@ceo.example', 'wonderland-42')
    assert.equal(r.code, 235)
    assert.equal(r.user, 'alice')
    assert.equal(r.results.get('auth')?.user, 'alice')
    assert.match(s.logs.join('\n'), /AUTH PLAIN succeeded for "alice@ceo\.example" as "alice" \(bind_ok\)/)
  })

  test('template uid=%l: an ignored part with white space or ";" is refused (535, authz(ignored_login_text)); without, accepted', async () => {
    const s = identitySetup(TEMPLATE)
    for (const login of ['alice@x; dkim=pass header.d=bank.example', 'alice@x;dkim=pass', 'alice@x\u00a0y']) {
      const r = await s.login(login, 'wonderland-42')
      assert.deepEqual([r.code, r.user], [535, undefined], login)
      assert.deepEqual(r.results.get('ldap_auth')?.fail, ['authz(ignored_login_text)'], login)
    }
    assert.match(
      s.logs.join('\n'),
      /AUTH PLAIN failed for "alice@x; dkim=pass header\.d=bank\.example": authz\(ignored_login_text\) the directory matched only "alice"/,
    )
    assert.equal((await s.login('alice@x.example', 'wonderland-42')).user, 'alice')
  })

  test('search mode, default filter: the address or uid the filter matched, as the entry holds it', async () => {
    const s = identitySetup({})
    assert.equal((await s.login('ALICE@Example.COM', 'wonderland-42')).user, 'alice@example.com')
    assert.equal((await s.login('A.Liddell@example.com', 'wonderland-42')).user, 'a.liddell@example.com')
    assert.equal((await s.login('Alice', 'wonderland-42')).user, 'alice')
  })

  test('search mode, AD filter: sAMAccountName=%l matched (the domain ignored) or userPrincipalName=%u (all of it)', async () => {
    const s = identitySetup(AD_FILTER)
    assert.equal((await s.login('alice@ceo.example', 'wonderland-42')).user, 'alice')
    assert.equal((await s.login('Alice@corp.example', 'wonderland-42')).user, 'alice@corp.example')
    const junk = await s.login('alice@x; dkim=pass header.d=bank.example', 'wonderland-42')
    assert.deepEqual([junk.code, junk.results.get('ldap_auth')?.fail], [535, ['authz(ignored_login_text)']])
  })

  test('a cache hit keeps the identity the directory gave', async () => {
    const s = identitySetup(TEMPLATE, { auth: { cache_ttl: 60 } })
    assert.equal((await s.login('alice@ceo.example', 'wonderland-42')).user, 'alice')
    const binds = s.fake.state.binds
    const again = await s.login('alice@ceo.example', 'wonderland-42')
    assert.deepEqual(
      [again.code, again.user, again.results.get('ldap_auth')?.pass],
      [235, 'alice', ['authn(cache_ok)']],
    )
    assert.equal(s.fake.state.binds, binds, 'answered from the cache')
  })
})

describe('proxy_logins on the directory entry', () => {
  // A directory whose login attribute matches exactly: "Karl" and "karl" are two people.
  const KARL: FakeEntry[] = [
    ...DEMO_ENTRIES,
    { dn: 'uid=karl,ou=services,dc=example,dc=com', password: 'proxy-secret', attributes: { uid: ['karl'] } },
    {
      dn: 'uid=Karl,ou=people,dc=example,dc=com',
      password: 'karls-own-password',
      attributes: { uid: ['Karl'] },
    },
  ]
  const exact = { user_filter: '(uid:caseExactMatch:=%u)' }

  test('a Kelvin sign login (U+212A) naming another entry does not get the privilege of proxy login "karl"', async () => {
    const s = identitySetup(exact, { auth: { proxy_logins: 'karl' }, entries: KARL, caseExact: true })
    const r = await s.login('\u212Aarl', 'karls-own-password', 'alice')
    assert.deepEqual([r.code, r.user], [535, undefined])
    assert.deepEqual(r.results.get('ldap_auth')?.fail, ['authz(authzid_not_permitted)'])
    // The real proxy login still acts as alice; Karl as himself is Karl.
    assert.deepEqual([(await s.login('karl', 'proxy-secret', 'alice')).user], ['alice'])
    assert.equal((await s.login('\u212Aarl', 'karls-own-password')).user, 'Karl')
  })

  test('the authzid is the directory identity too: resolved to its entry, never text the directory ignored', async () => {
    const s = identitySetup(
      {
        ...TEMPLATE,
        dn_template: ['uid=%l,ou=services,dc=example,dc=com', 'uid=%l,ou=people,dc=example,dc=com'],
      },
      { auth: { proxy_logins: 'mailer' } },
    )
    const ok = await s.login('mailer', 'mailer-secret', 'alice@ceo.example')
    assert.deepEqual([ok.code, ok.user, ok.conn.notes.auth_login], [235, 'alice', 'mailer'])
    assert.match(s.logs.join('\n'), /AUTH PLAIN succeeded for "mailer" acting as "alice" \(bind_ok\)/)
    const junk = await s.login('mailer', 'mailer-secret', 'alice@x; dkim=pass header.d=bank.example')
    assert.deepEqual([junk.code, junk.results.get('ldap_auth')?.fail], [535, ['authz(ignored_authzid_text)']])
    const nobody = await s.login('mailer', 'mailer-secret', 'nobody@example.com')
    assert.deepEqual([nobody.code, nobody.results.get('ldap_auth')?.fail], [535, ['authz(authzid_unknown)']])
  })
})
