// The layout's one hard rule: lib/ is the pure core. Nothing under lib/ imports
// Haraka or a haraka-* package (haraka/ is the adapter; @haraka/email-address is a
// plain address parser and allowed), so the core can be
// driven by the CLI, the bench and unit tests without a Haraka process.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
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
