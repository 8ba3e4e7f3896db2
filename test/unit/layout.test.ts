// The layout's one hard rule: lib/ is the pure core. Nothing under lib/ imports
// Haraka or a haraka-* package (haraka/ is the adapter; @haraka/email-address is a
// plain address parser and allowed), nor anything outside lib/ (haraka/, plugins/,
// demo/, bin/, test/), so the core can be driven by the CLI, the bench and unit
// tests without a Haraka process.
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { REPO } from '../harness/paths'

const HARAKA_IMPORT =
  /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"](?:haraka|Haraka|haraka-[\w-]+)(?:\/[^'"]*)?['"]/

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name)
    if (statSync(full).isDirectory()) return sources(full)
    return name.endsWith('.ts') ? [full] : []
  })
}

/** lib/ files that import Haraka, each with the offending line. */
export function harakaImports(root: string): string[] {
  return sources(root).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => HARAKA_IMPORT.test(line))
      .map((line) => `${path.relative(REPO, file)}: ${line.trim()}`),
  )
}

const RELATIVE_IMPORT = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"](\.{1,2}\/[^'"]*)['"]/g

/** lib/ files with a relative import that leaves lib/ (into the adapter, a plugin, the demo, tests). */
export function importsOutside(root: string, files = sources(root)): string[] {
  return files.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(RELATIVE_IMPORT)]
      .filter((m) => path.relative(root, path.resolve(path.dirname(file), m[1]!)).startsWith('..'))
      .map((m) => `${path.relative(REPO, file)}: ${m[1]}`),
  )
}

test('no file under lib/ imports Haraka or a haraka-* package', () => {
  assert.deepEqual(harakaImports(path.join(REPO, 'lib')), [])
})

test('the check finds such an import (it can fail)', () => {
  for (const line of [
    "import type { Connection } from 'haraka'",
    "import DSN from 'haraka-dsn'",
    "const c = require('haraka-constants')",
  ]) {
    assert.ok(HARAKA_IMPORT.test(line), line)
  }
  assert.ok(!HARAKA_IMPORT.test("import { x } from './haraka_like'"))
  // a plain parser library of the Haraka project, with no Haraka runtime in it, is allowed
  assert.ok(!HARAKA_IMPORT.test("import { parseHeader } from '@haraka/email-address'"))
})

test('no file under lib/ imports code outside lib/ (haraka/, plugins/, demo/, bin/, test/)', () => {
  assert.deepEqual(importsOutside(path.join(REPO, 'lib')), [])
})

test('the outside-lib check finds such an import (it can fail)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'layout-'))
  try {
    const root = path.join(dir, 'lib')
    mkdirSync(path.join(root, 'authz'), { recursive: true })
    const file = path.join(root, 'authz', 'x.ts')
    writeFileSync(
      file,
      "import { record } from '../../haraka/record'\nimport { labelOf } from '../decisions'\nimport type { Fake } from '../../test/harness/fake_directory'\n",
    )
    assert.equal(importsOutside(root, [file]).length, 2)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
