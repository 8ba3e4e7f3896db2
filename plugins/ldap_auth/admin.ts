// ldap_auth on the process's admin socket (haraka/admin_socket): the limiter's
// commands (haraka-ldap bans list|release, limits show, test's dry-run check,
// lib/limiter/admin) and the credential cache's (cache flush, cache.show), against
// this process's shared state and cache; and the haraka_limiter_active_bans
// gauge. The socket's folder is auth_relay.ini's admin_socket_dir (one socket
// per process, whichever of ldap_auth and auth_relay starts it first: the start
// is idempotent, so either plugin alone serves it). init_master in a single
// process; init_child in each cluster worker (the master serves no sessions).
import type { Next, Server } from 'haraka'
import { serveAdminCommands, stopAdminSocket } from '../../haraka/admin_socket'
import { isClusterMaster } from '../../haraka/cluster'
import type { AdminHandler } from '../../lib/admin/socket'
import { readConfig } from '../../lib/config/read_dir'
import { gaugeSource } from '../../haraka/metrics'
import { sharedState } from '../../haraka/shared_state'
import type { CredentialCache } from '../../lib/authn/cache'
import { normaliseLogin } from '../../lib/authn/login'
import { CONTAIN_SPEC, NO_ADMIN_SOCKET } from '../../lib/containment/config'
import { runWithin } from '../../lib/state/store'
import { limiterCommands } from '../../lib/limiter/admin'
import { LIMITS_SPEC } from '../../lib/limiter/config'
import { BAN_LISTING } from '../../lib/limiter/keys'
import { AUTH_RELAY_INI } from '../../lib/relay/config'
import { limiterKey, type LimitPlugin } from './limit'

const AUTH_RELAY_INI_DEFAULT_DIR = CONTAIN_SPEC.admin_socket_dir.default

interface AdminPlugin extends LimitPlugin {
  cache: CredentialCache
  stopBansGauge?: () => void
  adminNotes?: Record<string, unknown>
}

export function registerAdminHooks(plugin: AdminPlugin): void {
  plugin.register_hook('init_master', 'admin_init_master')
  plugin.register_hook('init_child', 'admin_init_child')
}

export function admin_init_master(
  this: AdminPlugin,
  next: Next,
  server: Server & { cluster?: unknown },
): void {
  if (isClusterMaster(server)) return next()
  startAdmin(this, server, next)
}

export function admin_init_child(this: AdminPlugin, next: Next, server: Server): void {
  startAdmin(this, server, next)
}

/** A login from the operator, in the cache's form (lib/authn/login). */
function cacheLogin(value: unknown): string {
  const norm = normaliseLogin(typeof value === 'string' ? value : '')
  if (!norm.ok) throw new Error(`not a login: ${norm.reason}`)
  return norm.login
}

/** The cache's commands: `cache.flush {login?}` (how many entries went) and `cache.show {login}`. */
function cacheCommands(plugin: AdminPlugin): Map<string, AdminHandler> {
  return new Map<string, AdminHandler>([
    [
      'cache.flush',
      async (args: Record<string, unknown>) => {
        const login = args.login === undefined || args.login === '' ? undefined : cacheLogin(args.login)
        return { login: login ?? null, removed: plugin.cache?.flush(login) ?? { positive: 0, negative: 0 } }
      },
    ],
    [
      'cache.show',
      async (args: Record<string, unknown>) => {
        const login = cacheLogin(args.login)
        return { login, enabled: Boolean(plugin.cache?.enabled), ...plugin.cache?.describe(login) }
      },
    ],
  ])
}

/**
 * The socket's folder: the process's one setting, auth_relay.ini admin_socket_dir (its
 * default when the file is absent or does not parse: auth_relay reports that). Read with
 * the Haraka-free reader, not haraka-config: a second get of auth_relay.ini from this
 * plugin would replace auth_relay's own watch of it.
 */
function socketDirOf(plugin: AdminPlugin): string {
  const { root_path: root, overrides_path: overrides } = plugin.config as {
    root_path?: string
    overrides_path?: string
  }
  const dirs = [root, overrides].filter((d): d is string => typeof d === 'string')
  try {
    const parsed = readConfig(dirs, AUTH_RELAY_INI)
    if (parsed.ok) return parsed.cfg.admin_socket_dir
  } catch {
    // unreadable: the default
  }
  return String(AUTH_RELAY_INI_DEFAULT_DIR)
}

function startAdmin(plugin: AdminPlugin, server: Server, next: Next): void {
  plugin.adminNotes = server.notes
  const store = () => sharedState({ server })
  // haraka_limiter_active_bans: the listing of bans in force, read at each scrape (a slow store: no value)
  plugin.stopBansGauge?.()
  plugin.stopBansGauge = gaugeSource('haraka_limiter_active_bans', async () => {
    const [members] = await runWithin(
      store(),
      [{ op: 'members', key: BAN_LISTING }],
      plugin.limits?.store_timeout ?? LIMITS_SPEC.store_timeout.default,
    )
    return Array.isArray(members) ? members.length : 0
  })
  const dir = socketDirOf(plugin)
  if (dir === NO_ADMIN_SOCKET) return next()
  // The key ldap_auth's attempts use (./limit)
  const key = (c: { key: Buffer; randomKey: boolean }) => limiterKey(c, { server })
  const commands = new Map([
    ...limiterCommands(store, () => plugin.limits, Date.now, key),
    ...cacheCommands(plugin),
  ])
  serveAdminCommands(plugin, server.notes, dir, commands, 'bans, limits, cache, test', next)
}

/** shutdown: the gauge stops reading, and the socket closes (auth_relay closing it too is harmless). */
export async function stopAdmin(plugin: AdminPlugin): Promise<void> {
  plugin.stopBansGauge?.()
  plugin.stopBansGauge = undefined
  if (plugin.adminNotes) await stopAdminSocket(plugin.adminNotes)
}
