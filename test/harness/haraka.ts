// A throwaway Haraka instance for integration tests: the repo's config/ copied to a
// temp dir with free loopback ports, the given LDAP URL, a mail sink dir and a fresh
// self-signed certificate; the repo's plugins/ and node_modules linked in.
import { spawn, type ChildProcess } from 'node:child_process'
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { generateSelfSigned } from '../../demo/tls'
import { isListening } from '../../demo/ports'
import { freePort } from './ports'
import { REPO } from './paths'

export interface HarakaOptions {
  ldapUrl: string
  /** Extra or replacement files under config/, e.g. { 'auth_relay.ini': '...' }. */
  files?: Record<string, string>
  env?: NodeJS.ProcessEnv
  /** Loopback address to listen on; default 127.0.0.1 (any of 127.0.0.0/8 works on Linux). */
  host?: string
  /** Fixed ports instead of free ones, e.g. { submission: 587, smtps: 465 } (needs root below 1024). */
  ports?: Partial<HarakaInstance['ports']>
  /**
   * Edits to the config files as the harness prepared them (before `files`):
   * keys set in [main], text appended (e.g. a [send_as] section).
   */
  ini?: Record<string, { main?: Record<string, string>; append?: string }>
  /** Node binary to run Haraka with; default this process's (the bench picks a runtime). */
  node?: string
  /** Extra node flags for the Haraka process, e.g. ['--max-old-space-size=64']. */
  nodeArgs?: string[]
  /** Run Haraka with --cpu-prof, writing <dir>/<name> when stop() ends it. */
  cpuProfile?: CpuProfile
  /** Repository whose config/, plugins/ and node_modules/ the instance uses; default this one. */
  repo?: string
  /** Keep Haraka's output in memory for logs(); default true (a long bench turns it off). */
  captureLogs?: boolean
}

export interface CpuProfile {
  dir: string
  /** file name, e.g. 'ours.cpuprofile' */
  name: string
}

export interface HarakaInstance {
  dir: string
  /** the address every listener is on */
  host: string
  ports: { inbound: number; submission: number; smtps: number }
  mailDir: string
  /** PEM of the instance's self-signed certificate, to use as CA. */
  caCert: string
  pid: number
  /** Everything Haraka wrote to stdout and stderr so far. */
  logs(): string
  /**
   * SIGTERM (SIGINT with cpuProfile: Haraka then exits cleanly and the profile is written),
   * SIGKILL after 8 s (10 s with cpuProfile), then remove the temp dir. Idempotent.
   */
  stop(): Promise<void>
}

// dist/test/harness -> repo root
const READY_TIMEOUT_MS = 30_000
const STOP_GRACE_MS = 8_000
// writing a profile of a long run takes a while
const PROFILE_STOP_GRACE_MS = 10_000

/**
 * Set key=value in the main section (before the first [section]) of an ini text:
 * replaces the active line, else a commented-out one, else inserts it at the top.
 */
export function setIniKey(text: string, key: string, value: string): string {
  const lines = text.split('\n')
  const firstSection = lines.findIndex((line) => /^\s*\[/.test(line))
  const end = firstSection < 0 ? lines.length : firstSection
  const active = new RegExp(`^\\s*${key}\\s*=`)
  const commented = new RegExp(`^\\s*[;#]\\s*${key}\\s*=`)
  let at = lines.slice(0, end).findIndex((line) => active.test(line))
  if (at < 0) at = lines.slice(0, end).findIndex((line) => commented.test(line))
  if (at >= 0) lines[at] = `${key}=${value}`
  else lines.splice(0, 0, `${key}=${value}`)
  return lines.join('\n')
}

/** Like setIniKey but for a key inside [section] (or main when section is 'main'). */
export function setIniKeyIn(text: string, section: string, key: string, value: string): string {
  const header = text.search(new RegExp(`^[ \\t]*\\[${section}\\][ \\t]*$`, 'm'))
  if (header < 0) return setIniKey(text, key, value)
  const bodyStart = text.indexOf('\n', header) + 1 || text.length
  return text.slice(0, bodyStart) + setIniKey(text.slice(bodyStart), key, value)
}

function readConfigOf(name: string, repo: string): string {
  try {
    return readFileSync(path.join(repo, 'config', name), 'utf8')
  } catch {
    return ''
  }
}

// Safety net: a crashed test process must not leave Haraka running.
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

export async function startHaraka(opts: HarakaOptions): Promise<HarakaInstance> {
  const dir = mkdtempSync(path.join(tmpdir(), 'haraka-test-'))
  const configDir = path.join(dir, 'config')
  const mailDir = path.join(dir, 'mail')
  mkdirSync(configDir)
  mkdirSync(mailDir)
  const repo = opts.repo ?? REPO
  const readRepoConfig = (name: string) => readConfigOf(name, repo)

  for (const name of readdirSync(path.join(repo, 'config'))) {
    const source = path.join(repo, 'config', name)
    if (statSync(source).isFile()) writeFileSync(path.join(configDir, name), readFileSync(source))
  }

  const host = opts.host ?? '127.0.0.1'
  const ports = {
    inbound: opts.ports?.inbound ?? (await freePort()),
    submission: opts.ports?.submission ?? (await freePort()),
    smtps: opts.ports?.smtps ?? (await freePort()),
  }
  let smtp = readRepoConfig('smtp.ini')
  smtp = setIniKey(
    smtp,
    'listen',
    [ports.inbound, ports.submission, ports.smtps].map((p) => `${host}:${p}`).join(','),
  )
  smtp = setIniKey(smtp, 'smtps_port', String(ports.smtps))
  smtp = setIniKey(smtp, 'nodes', '0')
  writeFileSync(path.join(configDir, 'smtp.ini'), smtp)

  const ldap = readRepoConfig('ldap_directory.ini')
  writeFileSync(
    path.join(configDir, 'ldap_directory.ini'),
    setIniKeyIn(ldap, 'main', 'servers', opts.ldapUrl),
  )
  // The ports that demand AUTH before MAIL are this instance's submission ports.
  writeFileSync(
    path.join(configDir, 'auth_relay.ini'),
    setIniKeyIn(
      readRepoConfig('auth_relay.ini'),
      'main',
      'submission_ports',
      `${ports.submission},${ports.smtps}`,
    ),
  )
  writeFileSync(
    path.join(configDir, 'eml_sink.ini'),
    setIniKeyIn(readRepoConfig('eml_sink.ini'), 'main', 'dir', mailDir),
  )

  // The AUTH limiter counts failures across connections from one address, and every test
  // client is 127.0.0.1: suites written before it would ban themselves. It is off here unless
  // a test turns it on (`ini` or `files` for auth_limits.ini); test/e2e/auth_limits.test.ts does.
  writeFileSync(
    path.join(configDir, 'auth_limits.ini'),
    setIniKeyIn(readRepoConfig('auth_limits.ini'), 'main', 'enabled', 'false'),
  )

  const pair = await generateSelfSigned('mail.example.com')
  writeFileSync(path.join(configDir, 'tls_key.pem'), pair.key, { mode: 0o600 })
  writeFileSync(path.join(configDir, 'tls_cert.pem'), pair.cert)

  for (const [name, edit] of Object.entries(opts.ini ?? {})) {
    const file = path.join(configDir, name)
    let text = existsSync(file) ? readFileSync(file, 'utf8') : '[main]\n'
    for (const [key, value] of Object.entries(edit.main ?? {})) text = setIniKeyIn(text, 'main', key, value)
    if (edit.append) text += `\n${edit.append}\n`
    writeFileSync(file, text)
  }

  for (const [name, content] of Object.entries(opts.files ?? {})) {
    mkdirSync(path.dirname(path.join(configDir, name)), { recursive: true })
    writeFileSync(path.join(configDir, name), content)
  }

  // Haraka finds package plugins at $HARAKA/plugins/<name>/package.json.
  symlinkSync(path.join(repo, 'plugins'), path.join(dir, 'plugins'), 'dir')
  symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'), 'dir')

  return runHaraka({
    dir,
    host,
    ports,
    mailDir,
    caCert: pair.cert,
    env: opts.env,
    node: opts.node,
    nodeArgs: opts.nodeArgs,
    cpuProfile: opts.cpuProfile,
    repo,
    captureLogs: opts.captureLogs,
  })
}

/**
 * Start the repository's Haraka (as an operator's installed `haraka`) on a prepared instance
 * directory and wait until every port listens. stop() kills it and removes the directory.
 */
export async function runHaraka(instance: {
  dir: string
  host: string
  ports: HarakaInstance['ports']
  mailDir: string
  caCert: string
  env?: NodeJS.ProcessEnv
  node?: string
  nodeArgs?: string[]
  cpuProfile?: CpuProfile
  repo?: string
  captureLogs?: boolean
}): Promise<HarakaInstance> {
  const { dir, host, ports, mailDir } = instance
  const opts = { env: instance.env }
  const output: string[] = []
  const logFile = createWriteStream(path.join(dir, 'haraka.log'))
  const haraka = path.join(instance.repo ?? REPO, 'node_modules/Haraka/bin/haraka')
  const profile = instance.cpuProfile
  const profileArgs = profile
    ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profile.dir)}`, `--cpu-prof-name=${profile.name}`]
    : []
  const args = [...(instance.nodeArgs ?? []), ...profileArgs, haraka, '-c', dir]
  const child = spawn(instance.node ?? process.execPath, args, {
    cwd: dir,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child)
      output.push(`[harness] haraka exited (code ${code}, signal ${signal})\n`)
      resolve()
    })
    child.once('error', (err) => {
      running.delete(child)
      output.push(`[harness] could not start haraka: ${err.message}\n`)
      resolve()
    })
  })
  let alive = true
  void exited.then(() => (alive = false))
  const keep = instance.captureLogs ?? true
  // The ports Haraka's own log says it listens on (read even when the log is not kept),
  // until it is ready: a long bench's output need not be scanned.
  const listening = new Set<number>()
  let ready = false
  let carry = ''
  const capture = (chunk: Buffer) => {
    const text = chunk.toString('utf8')
    if (!ready) {
      const lines = carry + text
      for (const m of lines.matchAll(/[Ll]istening on \S*:(\d+)\b/g)) listening.add(Number(m[1]))
      carry = lines.slice(lines.lastIndexOf('\n') + 1).slice(-200)
    }
    if (keep) output.push(text)
    // Cluster workers share the pipe and may still write after the master exited and the file was closed.
    if (!logFile.writableEnded) logFile.write(chunk)
  }
  child.stdout.on('data', capture)
  child.stderr.on('data', capture)

  const logs = () => output.join('')
  const lastLines = (n: number) => logs().trimEnd().split('\n').slice(-n).join('\n')

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (alive) {
        // Haraka shuts down and exits on SIGINT, so the profile is written; SIGTERM kills it outright.
        child.kill(profile ? 'SIGINT' : 'SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), profile ? PROFILE_STOP_GRACE_MS : STOP_GRACE_MS)
        await exited
        clearTimeout(timer)
      }
      await new Promise<void>((resolve) => logFile.end(resolve))
      rmSync(dir, { recursive: true, force: true })
    })()
    return stopping
  }

  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    if (!alive) {
      const why = `haraka exited before listening:\n${lastLines(60)}`
      await stop()
      throw new Error(why)
    }
    // Listening, and by OUR Haraka (its own log says so): a free port picked here may have been
    // taken meanwhile by another process on this machine, whose answers must not pass for ours.
    const up = await Promise.all(Object.values(ports).map((port) => isListening(port, 500, host)))
    const ours = Object.values(ports).every((port) => listening.has(port))
    if (up.every(Boolean) && ours) {
      ready = true
      break
    }
    if (Date.now() >= deadline) {
      const why = `haraka not listening on ${Object.values(ports).join(', ')} after ${READY_TIMEOUT_MS} ms:\n${lastLines(60)}`
      await stop()
      throw new Error(why)
    }
    await sleep(100)
  }

  return { dir, host, ports, mailDir, caCert: instance.caCert, pid: child.pid ?? 0, logs, stop }
}
