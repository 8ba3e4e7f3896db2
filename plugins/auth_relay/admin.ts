// The operator's way in (haraka/admin_socket): each process that serves
// sessions serves an admin socket with containment's commands (haraka-ldap
// suspended list|release, suspend) against its own shared state. init_master
// in a single process; init_child in each cluster worker (the master serves no
// sessions, and its memory is not the workers').
import type { Next, Server } from 'haraka'
import { serveAdminCommands, stopAdminSocket } from '../../haraka/admin_socket'
import { isClusterMaster } from '../../haraka/cluster'
import { sharedState } from '../../haraka/shared_state'
import { NO_ADMIN_SOCKET } from '../../lib/containment/config'
import { containmentCommands } from '../../lib/containment/operator'
import type { AuthRelay } from './state'

export function contain_init_master(
  this: AuthRelay,
  next: Next,
  server: Server & { cluster?: unknown },
): void {
  this.harakaServer = server
  if (isClusterMaster(server)) return next()
  startAdmin(this, server, next)
}

export function contain_init_child(this: AuthRelay, next: Next, server: Server): void {
  this.harakaServer = server
  startAdmin(this, server, next)
}

/** The admin socket (admin_socket_dir; `none`: no socket): a socket that cannot start is logged, never fatal. */
function startAdmin(plugin: AuthRelay, server: Server, next: Next): void {
  const dir = plugin.cfg.admin_socket_dir
  if (dir === NO_ADMIN_SOCKET) return next()
  // The store as a session of this process sees it (server.notes), looked up at each command.
  const store = () => sharedState({ server })
  const commands = containmentCommands(store, Date.now, () => plugin.cfg.contain)
  serveAdminCommands(plugin, server.notes, dir, commands, 'suspended, suspend', next)
}

export function stopAdmin(plugin: AuthRelay): Promise<void> {
  const notes = plugin.harakaServer?.notes
  return notes ? stopAdminSocket(notes) : Promise.resolve()
}
