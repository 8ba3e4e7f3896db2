// A throwaway OpenLDAP server for integration tests: its own slapd.conf, mdb
// database and log in a temp dir, on a free 127.0.0.1 port, stopped by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client, InvalidCredentialsError } from 'ldapts'
import { isListening } from '../../demo/ports'
import { freePort } from './ports'

export interface SlapdOptions {
  /** LDIF files loaded in order with slapadd before the first start. */
  ldif: string[]
  /** Database suffix; default dc=example,dc=com. */
  suffix?: string
  /** Account whose bind proves the server is ready; default the demo service account. */
  readyBind?: { dn: string; password: string }
  /** Extra schema files (absolute paths) included after the standard ones, e.g. test/fixtures/directory-extras.schema. */
  schemas?: string[]
  /** Extra modules to load from slapd's module directory, e.g. ['ppolicy', 'memberof']. */
  modules?: string[]
  /** Lines appended to the database section (before the ACLs), e.g. ['overlay ppolicy']. */
  databaseDirectives?: string[]
  /** ACL lines placed before the standard ones (the first matching `access to` wins), e.g. to hide an attribute from self. */
  acl?: string[]
  /** PEM key and certificate: slapd then offers StartTLS on `url` and listens for LDAPS on `ldapsUrl`. */
  tls?: { key: string; cert: string }
  /** Where the ports come from (default ./ports freePort); a test of the port race injects a taken one. */
  freePort?: () => Promise<number>
}

export interface Slapd {
  url: string
  port: number
  /** ldaps://127.0.0.1:<port> when started with `tls`, else '' */
  ldapsUrl: string
  /** PID of the running slapd; 0 while stopped. */
  pid: number
  dir: string
  suffix: string
  rootDn: string
  rootPassword: string
  logFile: string
  /** SIGTERM, SIGKILL after 5 s; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>
  signal(sig: NodeJS.Signals): void
  /** Restart after stop() or a SIGKILL: same port, same data. No-op while running. */
  start(): Promise<void>
  /** Stop for good and remove the temp dir. Idempotent. */
  dispose(): Promise<void>
  /** The last lines of slapd's log. */
  logTail(lines?: number): string
}

const SCHEMA_DIR = '/etc/ldap/schema'
const SCHEMAS = ['core', 'cosine', 'inetorgperson', 'nis', 'misc']
const MODULE_DIRS = ['/usr/lib/ldap', '/usr/lib64/openldap', '/usr/lib/openldap', '/usr/libexec/openldap']
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/libexec']
const ROOT_PASSWORD = 'test-root-secret'
const READY_TIMEOUT_MS = 15_000
const PORT_ATTEMPTS = 3
/** slapd logs this (at any debug level) once its listeners are bound: the port is then ours. */
const STARTED = /slapd starting/
const PORT_TAKEN = /already in use/i
const STOP_GRACE_MS = 5_000

/** slapd and slapadd live in sbin, which a non-root PATH often lacks. */
export function findBinary(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...SBIN_DIRS]
  for (const dir of dirs) {
    const candidate = path.join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // keep looking
    }
  }
  throw new Error(`${name} not found in PATH or ${SBIN_DIRS.join(', ')}; run test/ensure-deps.sh`)
}

/** back_mdb (and overlays) are loadable modules on Debian; elsewhere they may be built in. */
function moduleDirectives(extra: readonly string[]): string[] {
  const dir = MODULE_DIRS.find(
    (d) => existsSync(path.join(d, 'back_mdb.la')) || existsSync(path.join(d, 'back_mdb.so')),
  )
  return dir ? [`modulepath ${dir}`, ...['back_mdb', ...extra].map((m) => `moduleload ${m}`)] : []
}

function slapdConf(dir: string, suffix: string, opts: SlapdOptions): string {
  const service = `cn=haraka,ou=services,${suffix}`
  return [
    ...SCHEMAS.map((s) => `include ${SCHEMA_DIR}/${s}.schema`),
    ...(opts.schemas ?? []).map((file) => `include ${path.resolve(file)}`),
    ...(opts.tls
      ? [
          `TLSCertificateFile ${path.join(dir, 'tls_cert.pem')}`,
          `TLSCertificateKeyFile ${path.join(dir, 'tls_key.pem')}`,
        ]
      : []),
    `pidfile ${path.join(dir, 'slapd.pid')}`,
    `argsfile ${path.join(dir, 'slapd.args')}`,
    ...moduleDirectives(opts.modules ?? []),
    // The server accepts unauthenticated binds (DN, empty password) as anonymous, so the
    // tests prove that our code, not the directory, refuses empty passwords.
    'allow bind_anon_dn',
    '',
    'database mdb',
    `directory ${path.join(dir, 'data')}`,
    'maxsize 67108864',
    `suffix "${suffix}"`,
    `rootdn "cn=admin,${suffix}"`,
    `rootpw ${ROOT_PASSWORD}`,
    'index objectClass eq',
    'index uid,mail,member eq',
    ...(opts.databaseDirectives ?? []),
    '',
    ...(opts.acl ?? []),
    // ACLs like a real site: passwords only for authentication, entries for the service account and users.
    'access to attrs=userPassword',
    '  by self =xw',
    '  by anonymous auth',
    '  by * none',
    'access to *',
    `  by dn.exact="${service}" read`,
    '  by self read',
    '  by users read',
    '  by * none',
    '',
  ].join('\n')
}

function run(bin: string, args: string[], what: string): void {
  const result = spawnSync(bin, args, { encoding: 'utf8' })
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`
    throw new Error(`${what} failed (exit ${result.status}):\n${output.trim()}`)
  }
}

/** What the log gained from byte `from` on: this run's lines, not an earlier run's. */
function logSince(file: string, from: number): string {
  try {
    return readFileSync(file).subarray(from).toString('utf8')
  } catch {
    return ''
  }
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return ''
  }
}

/** True once the bind works; throws when the server answers but refuses the credentials. */
async function canBind(url: string, dn: string, password: string): Promise<boolean> {
  const client = new Client({ url, timeout: 2000, connectTimeout: 2000 })
  try {
    await client.bind(dn, password)
    return true
  } catch (err) {
    // A wrong readyBind never heals: fail now instead of after the timeout.
    if (err instanceof InvalidCredentialsError) throw new Error(`slapd refused the ready bind as ${dn}`)
    return false
  } finally {
    await client.unbind().catch(() => undefined)
  }
}

/** slapd did not start; `portTaken` when it could not bind its port (another process has it). */
class StartError extends Error {
  constructor(
    message: string,
    readonly portTaken: boolean,
  ) {
    super(message)
    this.name = 'StartError'
  }
}

// Safety net: a crashed test process must not leave slapd running.
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

export async function startSlapd(opts: SlapdOptions): Promise<Slapd> {
  const suffix = opts.suffix ?? 'dc=example,dc=com'
  const readyBind = opts.readyBind ?? {
    dn: `cn=haraka,ou=services,${suffix}`,
    password: 'haraka-service-secret',
  }
  const slapdBin = findBinary('slapd')
  const pickPort = opts.freePort ?? freePort
  const dir = mkdtempSync(path.join(tmpdir(), 'slapd-test-'))
  const confFile = path.join(dir, 'slapd.conf')
  const logFile = path.join(dir, 'slapd.log')
  mkdirSync(path.join(dir, 'data'))
  writeFileSync(confFile, slapdConf(dir, suffix, opts))
  if (opts.tls) {
    writeFileSync(path.join(dir, 'tls_key.pem'), opts.tls.key, { mode: 0o600 })
    writeFileSync(path.join(dir, 'tls_cert.pem'), opts.tls.cert)
  }
  let ldapsPort = 0

  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let disposed = false
  /** where this run's lines start in the log */
  let logStart = 0

  const spawnSlapd = (port: number): void => {
    logStart = existsSync(logFile) ? statSync(logFile).size : 0
    const log = openSync(logFile, 'a')
    // -d keeps slapd in the foreground (a child we own); "stats" logs connections, binds and results.
    const urls = [`ldap://127.0.0.1:${port}/`, ...(ldapsPort ? [`ldaps://127.0.0.1:${ldapsPort}/`] : [])]
    const proc = spawn(slapdBin, ['-f', confFile, '-h', urls.join(' '), '-d', 'stats'], {
      stdio: ['ignore', log, log],
    })
    closeSync(log)
    running.add(proc)
    child = proc
    exited = new Promise((resolve) => {
      proc.once('exit', () => {
        running.delete(proc)
        if (child === proc) child = undefined
        resolve()
      })
      proc.once('error', () => {
        running.delete(proc)
        if (child === proc) child = undefined
        resolve()
      })
    })
  }

  // Ready when OUR slapd has bound its listeners (its own log says so) and answers the ready
  // bind, and is still running then: the free port may have been taken between the probe and
  // slapd's bind, and another process's server answering there must not pass for ours.
  const waitReady = async (port: number): Promise<void> => {
    const url = `ldap://127.0.0.1:${port}`
    const deadline = Date.now() + READY_TIMEOUT_MS
    const exitedError = () => {
      const taken = PORT_TAKEN.test(logSince(logFile, logStart))
      return new StartError(`slapd exited during startup:\n${tail(logFile, 30)}`, taken)
    }
    while (Date.now() < deadline) {
      if (!child) throw exitedError()
      const bound = STARTED.test(logSince(logFile, logStart))
      if (bound && (await isListening(port, 500)) && (await canBind(url, readyBind.dn, readyBind.password))) {
        if (!child) throw exitedError()
        return
      }
      await sleep(100)
    }
    throw new Error(`slapd not ready on ${url} after ${READY_TIMEOUT_MS} ms:\n${tail(logFile, 30)}`)
  }

  const stop = async (): Promise<void> => {
    const proc = child
    if (!proc) return exited
    proc.kill('SIGCONT') // a SIGSTOPped slapd cannot act on SIGTERM
    proc.kill('SIGTERM')
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS)
    await exited
    clearTimeout(timer)
  }

  const slapd: Slapd = {
    url: '',
    port: 0,
    ldapsUrl: '',
    get pid() {
      return child?.pid ?? 0
    },
    dir,
    suffix,
    rootDn: `cn=admin,${suffix}`,
    rootPassword: ROOT_PASSWORD,
    logFile,
    stop,
    signal(sig) {
      if (child) child.kill(sig)
    },
    async start() {
      if (disposed) throw new Error('slapd was disposed')
      if (child) return
      spawnSlapd(slapd.port)
      try {
        await waitReady(slapd.port)
      } catch (err) {
        await stop()
        throw err
      }
    },
    async dispose() {
      disposed = true
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
    logTail(lines = 30) {
      return tail(logFile, lines)
    },
  }

  try {
    const slapadd = findBinary('slapadd')
    for (const file of opts.ldif) run(slapadd, ['-f', confFile, '-l', path.resolve(file)], `slapadd ${file}`)
    // The free port can be taken between probe and bind; try a fresh one a few times.
    for (let attempt = 1; ; attempt++) {
      slapd.port = await pickPort()
      slapd.url = `ldap://127.0.0.1:${slapd.port}`
      if (opts.tls) {
        ldapsPort = await pickPort()
        slapd.ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`
      }
      try {
        await slapd.start()
        return slapd
      } catch (err) {
        if (!(err instanceof StartError && err.portTaken)) throw err
        if (attempt >= PORT_ATTEMPTS)
          throw new Error(
            `slapd got no port of its own after ${attempt} attempts (last ${slapd.port}${ldapsPort ? ` or ${ldapsPort}` : ''}: in use by another process):\n${tail(logFile, 10)}`,
          )
      }
    }
  } catch (err) {
    await slapd.dispose()
    throw err
  }
}
