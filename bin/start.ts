// `npm start`: the demo. Generates a certificate if there is none, starts the
// embedded demo directory, runs Haraka on this instance directory, prints how to
// try it, and on Ctrl-C stops both.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { banner } from '../demo/banner'
import { startDemoDirectory, type DemoDirectory } from '../demo/directory'
import { readInstance } from '../demo/instance'
import { isListening } from '../demo/ports'
import { ensureCertFiles } from '../demo/tls'

const ROOT = path.resolve(__dirname, '../..')
const READY_TIMEOUT_MS = 30_000
const STOP_GRACE_MS = 8_000

function say(msg: string): void {
  process.stdout.write(`[start] ${msg}\n`)
}

async function main(): Promise<void> {
  const info = readInstance(ROOT)
  const config = path.join(ROOT, 'config')
  if (await ensureCertFiles(path.join(config, 'tls_key.pem'), path.join(config, 'tls_cert.pem'), info.me)) {
    say(`generated a self-signed certificate for ${info.me}: config/tls_cert.pem (replace it for real use)`)
  }
  const mailDir = path.join(ROOT, 'mail')
  mkdirSync(mailDir, { recursive: true })

  let directory: DemoDirectory | undefined
  if (info.demoLdap) {
    try {
      directory = await startDemoDirectory({
        ...info.demoLdap,
        ldifPath: path.join(ROOT, 'demo/directory.ldif'),
      })
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      const why =
        e.code === 'EADDRINUSE'
          ? `port ${info.demoLdap.port} is already in use (another npm start?)`
          : e.message
      throw new Error(`cannot start the demo directory: ${why}`)
    }
    say(`demo directory listening on ${directory.url}`)
  } else {
    say(`using the directory in config/ldap_directory.ini: ${info.ldapUrl} (no demo directory)`)
  }

  const haraka: ChildProcess = spawn(
    process.execPath,
    [path.join(ROOT, 'node_modules/Haraka/bin/haraka'), '-c', ROOT],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  )
  const exited = new Promise<number>((resolve) =>
    haraka.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))),
  )
  let stopping = false

  const stop = async (code: number): Promise<never> => {
    stopping = true
    if (haraka.exitCode === null && haraka.signalCode === null) {
      // Haraka shuts down gracefully on SIGINT (it only handles SIGTERM as pid 1).
      haraka.kill('SIGINT')
      const killer = setTimeout(() => haraka.kill('SIGKILL'), STOP_GRACE_MS)
      await exited
      clearTimeout(killer)
    }
    await directory?.close()
    process.exit(code)
  }
  process.once('SIGINT', () => void stop(0))
  process.once('SIGTERM', () => void stop(0))
  void exited.then((code) => {
    if (stopping) return
    say(`Haraka exited (code ${code})`)
    // Nobody asked it to stop, so even a clean exit is a failure of the demo.
    void stop(code || 1)
  })

  const deadline = Date.now() + READY_TIMEOUT_MS
  for (const l of info.listeners) {
    while (!(await isListening(l.port, 1000, l.host))) {
      if (stopping) return
      if (Date.now() > deadline) {
        say(
          `Haraka is not listening on ${l.host}:${l.port} after ${READY_TIMEOUT_MS / 1000} s; see its log above`,
        )
        await stop(1)
      }
      await sleep(200)
    }
  }
  process.stdout.write(`${banner(info, directory?.entries ?? [], path.relative(ROOT, mailDir) || mailDir)}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`[start] ${(err as Error).message}\n`)
  process.exit(1)
})
