// `npm start`'s launcher (dist/bin/start.js) as a newcomer runs it, for the demo tests:
// started in the repository on the ports config/ names, ready once the banner is out,
// stopped with Ctrl-C (SIGINT).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { readInstance, type InstanceInfo } from '../../demo/instance'
import { isListening } from '../../demo/ports'
import { REPO } from './paths'

export interface Demo {
  info: InstanceInfo
  /** every port the demo listens on (SMTP listeners and the demo directory) */
  ports: number[]
  /** everything the launcher wrote to stdout and stderr so far */
  out(): string
  /** SIGINT, then the launcher's exit code */
  stop(): Promise<number | null>
}

const BANNER_TIMEOUT_MS = 40_000

/**
 * Start the demo and wait for its banner. Returns a string (the reason) instead when one
 * of its fixed ports is already taken, e.g. by a demo already running: skip the test then.
 */
export async function startDemo(): Promise<Demo | string> {
  const info = readInstance(REPO)
  const ports = [...info.listeners.map((l) => l.port), info.demoLdap?.port ?? 0]
  for (const port of ports) {
    if (await isListening(port)) return `port ${port} is in use (a demo already running?)`
  }

  const child = spawn(process.execPath, [path.join(REPO, 'dist/bin/start.js')], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const stop = async () => {
    child.kill('SIGINT')
    return exited
  }
  try {
    const deadline = Date.now() + BANNER_TIMEOUT_MS
    while (!out.includes('Ctrl-C stops Haraka')) {
      assert.ok(Date.now() < deadline, `no banner:\n${out.slice(-3000)}`)
      assert.equal(child.exitCode, null, `launcher exited:\n${out.slice(-3000)}`)
      await sleep(200)
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { info, ports, out: () => out, stop }
}
