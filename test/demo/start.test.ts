// `npm start` as a newcomer runs it: the banner appears, the printed try line
// works against the embedded demo directory, and Ctrl-C stops everything.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { readInstance } from '../../demo/instance'
import { isListening } from '../../demo/ports'
import { REPO as ROOT } from '../harness/paths'

test('npm start: banner, a working try line, clean Ctrl-C', { timeout: 60_000 }, async (t) => {
  const info = readInstance(ROOT)
  const ports = [...info.listeners.map((l) => l.port), info.demoLdap?.port ?? 0]
  for (const port of ports) {
    if (await isListening(port)) return t.skip(`port ${port} is in use (a demo already running?)`)
  }

  const child = spawn(process.execPath, [path.join(ROOT, 'dist/bin/start.js')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  try {
    const deadline = Date.now() + 40_000
    while (!out.includes('Ctrl-C stops Haraka')) {
      assert.ok(Date.now() < deadline, `no banner:\n${out.slice(-3000)}`)
      assert.equal(child.exitCode, null, `launcher exited:\n${out.slice(-3000)}`)
      await sleep(200)
    }
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
    child.kill('SIGINT')
  }
  assert.equal(await exited, 0, out.slice(-2000))
  for (const port of ports)
    assert.equal(await isListening(port), false, `port ${port} still open after Ctrl-C`)
})
