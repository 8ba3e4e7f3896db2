// haraka/load_config with the real haraka-config reading files from a
// plugin's defaults folder and an instance's config folder, as Haraka does.
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import type { Plugin } from 'haraka'
import { LDAP_AUTH_INI, parseAuthConfig } from '../../lib/authn/config'
import { parseIniText } from '../../lib/config/schema'
import { loadValidated } from '../../haraka/load_config'
import { LDAP_DIRECTORY_INI, parseDirectoryConfig } from '../../lib/ldap/config'

const harakaConfig = require('haraka-config') as {
  module_config(defaults: string, overrides?: string): Plugin['config']
}
// No fs.watch in a test process; every read goes to the files again.
;(require('haraka-config/lib/reader') as { watch_files: boolean }).watch_files = false
process.env.WITHOUT_CONFIG_CACHE = '1'

const root = mkdtempSync(path.join(tmpdir(), 'load-config-'))
after(() => rmSync(root, { recursive: true, force: true }))
let n = 0

/** A plugin whose config is haraka-config over a defaults dir and an instance dir, with the given files. */
function plugin(files: { defaults?: Record<string, string>; instance?: Record<string, string> }) {
  const dir = path.join(root, String(++n))
  for (const [where, set] of [
    ['plugin', files.defaults],
    ['haraka', files.instance],
  ] as const) {
    mkdirSync(path.join(dir, where, 'config'), { recursive: true })
    for (const [name, text] of Object.entries(set ?? {}))
      writeFileSync(path.join(dir, where, 'config', name), text)
  }
  const errors: string[] = []
  const p = {
    name: 'test',
    config: harakaConfig.module_config(path.join(dir, 'plugin'), path.join(dir, 'haraka')),
    logerror: (m: string) => errors.push(m),
  } as unknown as Plugin
  return {
    p,
    errors,
    write: (name: string, text: string) => writeFileSync(path.join(dir, 'haraka', 'config', name), text),
  }
}

const SEARCH = 'bind_dn=cn=svc,dc=example,dc=com\nbase_dn=dc=example,dc=com\n'
const loadAuth = (p: Plugin, previous?: ReturnType<typeof parseAuthConfig> & { ok: true }) =>
  loadValidated(p, LDAP_AUTH_INI, () => undefined, previous?.cfg)!
const loadDirectory = (p: Plugin) => loadValidated(p, LDAP_DIRECTORY_INI, () => undefined, undefined)!

describe('loadValidated reads values as written', () => {
  test('a boolean that is not true or false stops startup, naming the file and the key', () => {
    const { p } = plugin({ instance: { 'ldap_auth.ini': '[main]\ncheck_ppolicy_lock=ture\n' } })
    assert.throws(
      () => loadAuth(p),
      /^Error: config\/ldap_auth\.ini is invalid: \[main\] check_ppolicy_lock: "ture" is not true or false$/,
    )
    const ok = plugin({
      instance: { 'ldap_auth.ini': '[main]\ncheck_ppolicy_lock=yes\ncheck_account_expires=OFF\n' },
    })
    const cfg = loadAuth(ok.p)
    assert.equal(cfg.check_ppolicy_lock, true)
    assert.equal(cfg.check_account_expires, false)
  })

  test('a numeric-looking secret is kept exactly (haraka-config alone would give the number 7123)', () => {
    for (const secret of ['007123', '1.50', '-0', '12345678901234567890']) {
      const { p } = plugin({
        instance: { 'ldap_directory.ini': `[main]\n${SEARCH}bind_password=${secret}\n` },
      })
      assert.equal(
        p.config.get('ldap_directory.ini').main.bind_password === secret,
        false,
        'haraka-config converts it',
      )
      assert.equal(loadDirectory(p).bind_password, secret)
    }
  })

  test('defaults and instance files merge key by key (the instance wins); arrays and continuations as haraka-config reads them', () => {
    const { p } = plugin({
      defaults: { 'ldap_directory.ini': `[main]\n${SEARCH}bind_password=from-defaults\ntimeout=4000\n` },
      instance: {
        'ldap_directory.ini':
          '; comment\n[main]\nbind_password=0042\nmode=template\ndn_template[]=uid=%l,ou=people,\\\n dc=example,dc=com\ndn_template[]=uid=%l,ou=staff,dc=example,dc=com\n',
      },
    })
    const cfg = loadDirectory(p)
    assert.equal(cfg.bind_password, '0042')
    assert.equal(cfg.timeout, 4000)
    assert.equal(cfg.bind_dn, 'cn=svc,dc=example,dc=com')
    assert.deepEqual(cfg.dn_template, [
      'uid=%l,ou=people, dc=example,dc=com',
      'uid=%l,ou=staff,dc=example,dc=com',
    ])
  })

  test('a bad boolean on reload keeps the previous configuration and logs the key', () => {
    const { p, errors, write } = plugin({
      instance: { 'ldap_auth.ini': '[main]\ncheck_ppolicy_lock=true\n' },
    })
    const first = parseAuthConfig({ main: { check_ppolicy_lock: 'true' } }) as ReturnType<
      typeof parseAuthConfig
    > & { ok: true }
    write('ldap_auth.ini', '[main]\ncheck_ppolicy_lock=flase\n')
    assert.equal(loadAuth(p, first), first.cfg)
    assert.match(
      errors.join('\n'),
      /ldap_auth\.ini is invalid, keeping the previous configuration: \[main\] check_ppolicy_lock: "flase" is not true or false/,
    )
  })

  test('a secret already turned into a number by some reader is refused, never stringified', () => {
    const r = parseDirectoryConfig({ main: { bind_dn: 'cn=x', base_dn: 'dc=x', bind_password: 7123 } })
    assert.ok(!r.ok)
    assert.match(r.errors.join(), /bind_password: was read as a number, not as the text written/)
  })
})

describe('parseIniText', () => {
  test('sections, keys before any section in main, comments, arrays, unsafe keys', () => {
    const raw = parseIniText(
      'top=1\n# c\n;c\n[users]\nAlice@Example.com=$6$x\n__proto__=bad\n[main]\nlist[]=a\nlist[]=b\nempty=\nbare\n',
    )
    assert.deepEqual(JSON.parse(JSON.stringify(raw)), {
      main: { top: '1', list: ['a', 'b'], empty: '', bare: '' },
      users: { 'Alice@Example.com': '$6$x' },
    })
  })
})
