// The admin socket of this Haraka process (lib/admin/socket): one per process,
// kept on server.notes, serving the commands the plugins register on it
// against the process's shared state. auth_relay registers containment's
// (suspended list / release, suspend) and starts it in init_master (one
// process) or init_child (each cluster worker: the master serves no sessions).
import path from 'node:path'
import type { Plugin } from 'haraka'
import { serveAdmin, type AdminHandler, type AdminServer } from '../lib/admin/socket'

const NOTE = 'ldap_submission_admin'

type Notes = Record<string, unknown>

interface AdminState {
  handlers: Map<string, AdminHandler>
  server?: Promise<AdminServer>
}

function state(notes: Notes): AdminState {
  let s = notes[NOTE] as AdminState | undefined
  if (!s) {
    s = { handlers: new Map() }
    notes[NOTE] = s
  }
  return s
}

/** Add commands to this process's admin socket (a later registration of a name replaces it). */
export function registerAdminCommands(notes: Notes, commands: ReadonlyMap<string, AdminHandler>): void {
  const { handlers } = state(notes)
  for (const [name, fn] of commands) handlers.set(name, fn)
}

/**
 * Serve this process's socket in `dir` (relative: to the Haraka instance
 * folder), once; the commands registered before or after are served.
 */
export function startAdminSocket(notes: Notes, dir: string): Promise<AdminServer> {
  const s = state(notes)
  s.server ??= serveAdmin(adminSocketDir(dir), s.handlers)
  return s.server
}

/** Close this process's socket (shutdown). */
export async function stopAdminSocket(notes: Notes): Promise<void> {
  const s = state(notes)
  const server = s.server
  s.server = undefined
  if (server) await (await server.catch(() => undefined))?.close()
}

/** The socket folder of auth_relay.ini's admin_socket_dir, for the plugin and the CLI alike. */
export function adminSocketDir(dir: string, instance = process.env.HARAKA ?? process.cwd()): string {
  return path.resolve(instance, dir)
}

/**
 * A plugin's part of the socket, at init_master (one process) or init_child (a worker):
 * register its commands and serve the socket (once per process, whichever plugin comes
 * first). A socket that cannot start is logged, never fatal; next() is called either way.
 */
export function serveAdminCommands(
  plugin: Pick<Plugin, 'lognotice' | 'logerror'>,
  notes: Notes,
  dir: string,
  commands: ReadonlyMap<string, AdminHandler>,
  what: string,
  next: () => void,
): void {
  registerAdminCommands(notes, commands)
  startAdminSocket(notes, dir).then(
    (s) => {
      plugin.lognotice(`admin socket ${s.path} (haraka-ldap ${what})`)
      next()
    },
    (err: Error) => {
      plugin.logerror(
        `admin socket in ${dir} not started: ${err.message}; the haraka-ldap commands (${what}) cannot reach this process`,
      )
      next()
    },
  )
}
