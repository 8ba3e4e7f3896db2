// ldap_auth as verifyAttempt and its limiter hooks see it, for hook tests and
// bench:limiter-flow: its parsed ldap_auth.ini (failure_delay 0 unless given) and
// auth_limits.ini, a directory handle over a fake directory (alice, password `right`,
// unless given), an uncached credential cache unless given, and every log line it and
// its connections write collected in `logs`. The connection and the AUTH PLAIN
// attempt are the fixtures' as Haraka would hand them to the hooks.
import assert from 'node:assert/strict'
import constants from 'haraka-constants'
import type { Connection } from 'haraka'
import { CredentialCache } from '../../lib/authn/cache'
import { parseAuthConfig } from '../../lib/authn/config'
import type { Credentials } from '../../lib/authn/sasl'
import type { AuthDirectory } from '../../lib/ldap/types'
import type { DirectoryConfig } from '../../lib/ldap/config'
import { DirectoryHandle } from '../../lib/ldap/handle'
import { parseLimitsConfig } from '../../lib/limiter/config'
import { verifyAttempt, type AttemptPlugin } from '../../plugins/ldap_auth/attempt'
import { fakeDirectory, fakeDirectoryConfig, type FakeDirectoryState } from './fake_directory'

const fixtures = require('haraka-test-fixtures') as { connection: { createConnection(): any } }

export const ALICE_DN = 'uid=alice,ou=people,dc=example,dc=com'

/** The shared fake with alice and `password` (objectClass, uid, mail), on fakeDirectoryConfig(). */
export function aliceDirectory(password = 'right'): { dir: AuthDirectory; state: FakeDirectoryState } {
  const alice = { objectClass: ['inetOrgPerson'], uid: ['alice'], mail: ['alice@example.com'] }
  return fakeDirectory(fakeDirectoryConfig(), [{ dn: ALICE_DN, password, attributes: alice }])
}

export interface LdapAuthPluginOptions {
  /** ldap_auth.ini [main], over failure_delay = 0 */
  auth?: Record<string, unknown>
  /** auth_limits.ini [main]; absent: the plugin has no limits */
  limits?: Record<string, unknown>
  /** the fake behind the directory handle (default: aliceDirectory()) */
  dir?: { dir: AuthDirectory; state: FakeDirectoryState }
  /** ldap_directory.ini as parsed (default: fakeDirectoryConfig()) */
  dirCfg?: DirectoryConfig
  /** where the plugin's log lines go, besides `logs` */
  log?: (msg: string) => void
  /** Haraka's plugin timeout, s (default 30) */
  timeout?: number
  cache?: CredentialCache
}

export function fakeLdapAuthPlugin(opts: LdapAuthPluginOptions = {}) {
  const auth = parseAuthConfig({ main: { failure_delay: 0, ...opts.auth } })
  assert.ok(auth.ok, auth.ok ? '' : auth.errors.join('; '))
  const limits = opts.limits && parseLimitsConfig({ main: opts.limits })
  if (limits && !limits.ok) throw new Error(limits.errors.join('; '))
  const dirCfg = opts.dirCfg ?? fakeDirectoryConfig()
  const fake = opts.dir ?? aliceDirectory()
  const logs: string[] = []
  const log = (msg: string) => {
    logs.push(msg)
    opts.log?.(msg)
  }
  const plugin = {
    name: 'ldap_auth',
    localUsers: undefined,
    logdebug: log,
    loginfo: log,
    lognotice: log,
    logwarn: log,
    logerror: log,
    timeout: opts.timeout ?? 30,
    cfg: auth.cfg,
    ...(limits ? { limits: limits.cfg } : {}),
    dirCfg,
    directory: new DirectoryHandle(() => fake.dir),
    cache: opts.cache ?? new CredentialCache({ ttlMs: 0, negativeTtlMs: 0, staleMs: 0, maxEntries: 1 }),
  } as unknown as AttemptPlugin
  plugin.directory.update(dirCfg)
  return { plugin, fake, logs, log }
}

/** A fixtures connection from `ip` whose server notes are `notes`, its log lines into `log` (none: dropped). */
export function fixturesConnection(
  opts: { ip?: string; notes?: Record<string, unknown>; log?: (msg: string) => void } = {},
): Connection & Record<string, any> {
  const c = fixtures.connection.createConnection() as Connection & Record<string, any>
  if (opts.ip) c.remote.ip = opts.ip
  if (opts.notes) c.server = { notes: opts.notes }
  const log = opts.log
  for (const level of ['logdebug', 'loginfo', 'lognotice', 'logwarn', 'logerror'])
    c[level] = log ? (_p: unknown, msg: string) => log(msg) : () => undefined
  return c
}

/**
 * One AUTH PLAIN through verifyAttempt, resolved with its reply (421 when next() disconnects).
 * `withinMs`: rejected when no reply came by then (default: waits).
 */
export function plainAttempt(
  plugin: AttemptPlugin,
  c: Connection & Record<string, any>,
  password: string,
  opts: { authcid?: string; withinMs?: number } = {},
): Promise<{ code: number; msg: string }> {
  return new Promise((resolve, reject) => {
    c.respond = (code: number, msg: string, cb?: () => void) => {
      cb?.()
      resolve({ code, msg })
    }
    const authcid = opts.authcid ?? 'alice@example.com'
    verifyAttempt(
      plugin,
      (code?: number, msg?: unknown) => {
        if (code === constants.denysoftdisconnect) resolve({ code: 421, msg: String(msg) })
      },
      c,
      { mech: 'PLAIN', authcid, authzid: '', password } as Credentials,
    )
    if (opts.withinMs !== undefined)
      setTimeout(() => reject(new Error(`no reply within ${opts.withinMs} ms`)), opts.withinMs).unref()
  })
}
