// `npm start` as a newcomer runs it: the banner appears, the printed try line
// works against the embedded demo directory, and Ctrl-C stops everything.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { test } from 'node:test'
import { isListening } from '../../demo/ports'
import { startDemo } from '../harness/demo'
import { REPO as ROOT } from '../harness/paths'

test('npm start: banner, a working try line, clean Ctrl-C', { timeout: 60_000 }, async (t) => {
  const demo = await startDemo()
  if (typeof demo === 'string') return t.skip(demo)
  let exitCode: number | null
  try {
    const out = demo.out()
    assert.match(out, /demo directory listening on ldap:\/\/127\.0\.0\.1:/)
    assert.match(out, /alice\s+alice@example\.com, a\.liddell@example\.com\s+wonderland-42/)

    // Run the first printed try line exactly as printed.
    const line = /npm run try -- (--port \d+ [^\n]*)/.exec(out)
    assert.ok(line, 'a try line is printed')
    const tryRun = spawnSync(
      process.execPath,
      [path.join(ROOT, 'dist/bin/try.js'), ...line[1]!.trim().split(/\s+/)],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 20_000,
      },
    )
    assert.equal(tryRun.status, 0, tryRun.stdout + tryRun.stderr)
    assert.match(tryRun.stdout, /235 2\.7\.0/)
    assert.match(tryRun.stdout, /OK: message accepted/)
  } finally {
    exitCode = await demo.stop()
  }
  assert.equal(exitCode, 0, demo.out().slice(-2000))
  for (const port of demo.ports)
    assert.equal(await isListening(port), false, `port ${port} still open after Ctrl-C`)
})
