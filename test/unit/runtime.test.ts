// The supported runtime: package.json's engines.node is honest (every package in the
// lockfile accepts every Node version it admits, so npm prints no EBADENGINE on a supported
// Node), the Node running the tests is one of them, and npm scripts run the pinned Node
// from the `node` devDependency rather than whatever older Node the machine has.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import semver from 'semver'
import { REPO } from '../harness/paths'

interface LockEntry {
  engines?: { node?: string } | string[]
  optional?: boolean
}

const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  engines: { node: string }
  devDependencies: Record<string, string>
}
const lock = JSON.parse(readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry>
}

/** Lockfile packages whose engines.node does not admit every version `ours` admits. */
export function narrowerEngines(ours: string, packages: Record<string, LockEntry>): string[] {
  return Object.entries(packages).flatMap(([where, entry]) => {
    const theirs = Array.isArray(entry.engines) ? undefined : entry.engines?.node
    if (where === '' || theirs === undefined) return []
    return semver.subset(ours, theirs) ? [] : [`${where.replace(/^.*node_modules\//, '')}: ${theirs}`]
  })
}

test('every package in the lockfile accepts every Node that engines.node admits', () => {
  assert.deepEqual(narrowerEngines(pkg.engines.node, lock.packages), [])
})

test('the check finds a dependency that wants a newer Node (it can fail)', () => {
  const packages = { '': {}, 'node_modules/ldapts': { engines: { node: '>=22' } } }
  assert.deepEqual(narrowerEngines('>=20', packages), ['ldapts: >=22'])
  assert.deepEqual(narrowerEngines('^22.22.2 || ^24.15.0', packages), [])
})

test('engines.node admits no Node before 22 (20 reached end of life in April 2026)', () => {
  assert.equal(semver.intersects(pkg.engines.node, '<22'), false)
  assert.ok(semver.satisfies('22.23.3', pkg.engines.node))
  assert.ok(semver.satisfies(pkg.devDependencies.node ?? '', pkg.engines.node))
})

test('the Node running the tests is a supported one', () => {
  assert.ok(semver.satisfies(process.version, pkg.engines.node), `${process.version} vs ${pkg.engines.node}`)
})

test('under npm, scripts run the Node pinned as the `node` devDependency', (t) => {
  if (process.env.npm_lifecycle_event === undefined) return t.skip('not run by an npm script')
  assert.equal(process.version, `v${pkg.devDependencies.node}`)
})
