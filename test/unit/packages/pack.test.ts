// The packages an operator installs: names Haraka resolves from config/plugins and that collide
// with nothing Haraka redirects, example ini files that set nothing, READMEs with every option.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import { PLUGINS, exampleIni, pluginReadme } from '../../../packages/pack'
import { REPO } from '../../harness/paths'

const README = readFileSync(path.join(REPO, 'README.md'), 'utf8')

/** Keys and values of Haraka's plugins.deprecated (names it redirects to another plugin). */
function deprecatedNames(): Set<string> {
  const source = readFileSync(path.join(REPO, 'node_modules/Haraka/plugins.js'), 'utf8')
  const block = /plugins\.deprecated = \{([\s\S]*?)\n\}/.exec(source)?.[1]
  assert.ok(block, 'plugins.deprecated not found in Haraka/plugins.js')
  const names = new Set<string>()
  for (const m of block.matchAll(/'?([\w./-]+)'?\s*:\s*'([\w./-]+)'/g)) {
    names.add(m[1] ?? '')
    names.add(m[2] ?? '')
  }
  assert.ok(names.has('relay_acl') && names.has('auth-ldap'), [...names].join(' '))
  return names
}

describe('package names', () => {
  test('each plugin is the config/plugins line the repository uses, and no name Haraka redirects or another package holds', () => {
    const lines = readFileSync(path.join(REPO, 'config/plugins'), 'utf8').split('\n')
    const deprecated = deprecatedNames()
    for (const { plugin } of PLUGINS) {
      assert.ok(lines.includes(plugin), `${plugin} in config/plugins`)
      assert.ok(!deprecated.has(plugin), `${plugin} is in plugins.deprecated`)
      assert.ok(!['relay', 'headers', 'ldap', 'auth-ldap'].includes(plugin), plugin)
    }
  })
})

describe('example ini files', () => {
  const DEMO =
    '[main]\n; where\nservers=ldap://127.0.0.1:3389\n;timeout=5000\n bind_password = demo-secret\n[users]\n'

  test('every active setting is commented out, a password without its value', () => {
    const out = exampleIni(DEMO, 'haraka-plugin-x')
    const active = out.split('\n').filter((l) => /^\s*[\w.-]+\s*=/.test(l))
    assert.deepEqual(active, [])
    assert.match(out, /^;servers=ldap:\/\/127\.0\.0\.1:3389$/m)
    assert.match(out, /^;timeout=5000$/m)
    assert.match(out, /^;bind_password=$/m)
    assert.ok(!out.includes('demo-secret'))
    assert.match(out, /^\[users\]$/m)
  })

  test('the shipped config/ files, made examples, set nothing and keep no password', () => {
    for (const { plugin, ini } of PLUGINS) {
      for (const name of ini) {
        const out = exampleIni(readFileSync(path.join(REPO, 'config', name), 'utf8'), plugin)
        assert.deepEqual(
          out.split('\n').filter((l) => /^\s*[\w.-]+\s*=/.test(l)),
          [],
          name,
        )
        assert.doesNotMatch(out, /^;\s*bind_password=./m, name)
      }
    }
  })
})

describe('plugin READMEs', () => {
  for (const p of PLUGINS) {
    test(`haraka-plugin-${p.plugin}: install, every option of its ini files, replies and results`, () => {
      const text = pluginReadme(p, README)
      assert.match(text, new RegExp(`^# haraka-plugin-${p.plugin}$`, 'm'))
      assert.match(text, /^## Install$/m)
      assert.match(
        text,
        /npm install haraka-plugin-ldap_auth haraka-plugin-auth_relay haraka-plugin-auth_stamp/,
      )
      for (const ini of p.ini) {
        const start = README.indexOf(`### \`config/${ini}\``)
        const end = README.indexOf('\n### ', start + 1)
        for (const m of README.slice(start, end).matchAll(/^#### `([a-z_]+)`$/gm))
          assert.ok(text.includes(m[0]), `${ini}: ${m[1]}`)
      }
      assert.match(text, /^### Replies$/m)
      assert.match(text, /^### Results$/m)
    })
  }
})
