// One source for defaults: the schema's DEFAULTS, the shipped ini files and the
// README's option sections must agree, key for key and value for value.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import { AUTH_SPEC } from '../../../lib/authn/config'
import type { FieldSpec, SectionSpec } from '../../../lib/config/schema'
import { DIRECTORY_SPEC } from '../../../lib/ldap/config'
import { METRICS_SPEC } from '../../../lib/metrics/config'
import { LIMITS_SPEC } from '../../../lib/limiter/config'
import { RELAY_SECTIONS, RELAY_SPEC } from '../../../lib/relay/config'
import { SINK_SPEC } from '../../../demo/sink/config'
import { STAMP_SPEC } from '../../../lib/stamp/config'
import { SHARED_STATE_SPEC } from '../../../lib/state/config'
import { REPO } from '../../harness/paths'

const README = readFileSync(path.join(REPO, 'README.md'), 'utf8')

const FILES: Record<string, SectionSpec> = {
  'ldap_directory.ini': DIRECTORY_SPEC,
  'ldap_auth.ini': AUTH_SPEC,
  'auth_limits.ini': LIMITS_SPEC,
  'auth_relay.ini': RELAY_SPEC,
  'auth_stamp.ini': STAMP_SPEC,
  'eml_sink.ini': SINK_SPEC,
  'shared_state.ini': SHARED_STATE_SPEC,
  'auth_metrics.ini': METRICS_SPEC,
  // Its [users] section holds data (login=hash lines), not options: no option may be documented or listed.
  'auth_enc_file.ini': {},
}

/** Sections besides [main] (their keys are data, e.g. addresses): listed in the ini and documented as #### `[name]`. */
const SECTIONS: Record<string, readonly string[]> = {
  'auth_relay.ini': Object.keys(RELAY_SECTIONS),
  'auth_enc_file.ini': ['users'],
}

function shown(field: FieldSpec): string {
  return Array.isArray(field.default) ? field.default.join(',') : String(field.default)
}

/** The README section of one config file: from its ### heading to the next ### heading. */
function readmeSection(file: string): string {
  const start = README.indexOf(`### \`config/${file}\``)
  assert.ok(start >= 0, `README has no section for config/${file}`)
  const end = README.indexOf('\n### ', start + 1)
  return README.slice(start, end < 0 ? undefined : end)
}

for (const [file, spec] of Object.entries(FILES)) {
  describe(`config/${file}`, () => {
    const ini = readFileSync(path.join(REPO, 'config', file), 'utf8')
    const section = readmeSection(file)

    test('the shipped ini lists every option; a commented one shows the default', () => {
      for (const [key, field] of Object.entries(spec)) {
        const m = new RegExp(`^(;?)${key}=(.*)$`, 'm').exec(ini)
        assert.ok(m, `${file} does not list ${key}`)
        if (m[1] === ';') assert.equal(m[2], shown(field), `${file}: commented ${key} is not the default`)
      }
      for (const m of ini.matchAll(/^;?([a-z_]+)=/gm))
        assert.ok(m[1]! in spec, `${file} lists unknown option ${m[1]}`)
    })

    test('the README documents every option with its default, and no other', () => {
      for (const [key, field] of Object.entries(spec)) {
        const m = new RegExp(`#### \`${key}\`\\n[\\s\\S]*?\\*\\*Default\\*\\*: (.*)`).exec(section)
        assert.ok(m, `README does not document ${key} of ${file}`)
        const expected = shown(field) === '' ? '(empty)' : `\`${shown(field)}\``
        assert.equal(m[1], expected, `README default of ${key} in ${file}`)
      }
      for (const m of section.matchAll(/^#### `([a-z_]+)`/gm))
        assert.ok(m[1]! in spec, `README documents unknown ${m[1]}`)
    })

    test('sections besides [main] are shown in the ini and documented in the README, and no others', () => {
      const sections = SECTIONS[file] ?? []
      for (const name of sections) {
        assert.match(ini, new RegExp(`^;?\\[${name}\\]$`, 'm'), `${file} does not show [${name}]`)
        assert.ok(section.includes(`#### \`[${name}]\``), `README does not document [${name}] of ${file}`)
      }
      for (const m of ini.matchAll(/^;?\[([a-z_]+)\]$/gm))
        assert.ok(m[1] === 'main' || sections.includes(m[1]!), `${file} shows unknown section [${m[1]}]`)
      for (const m of section.matchAll(/^#### `\[([a-z_]+)\]`/gm))
        assert.ok(sections.includes(m[1]!), `README documents unknown section [${m[1]}]`)
    })
  })
}
