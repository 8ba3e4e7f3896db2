// The operator's way into a running Haraka: a unix socket per Haraka process
// (`<dir>/haraka-ldap.<pid>.sock`, the folder 0700, the socket 0600: only the
// user Haraka runs as, and root, can connect), one JSON line asked and one
// answered. Each process serves the commands registered on it against its own
// shared state, so the CLI reaches the per-process memory store of every worker
// (it asks every socket in the folder) as well as a store shared through Redis.
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { withDeadline } from '../deadline'

export type AdminHandler = (args: Record<string, unknown>) => Promise<unknown>

export interface AdminRequest {
  command: string
  args?: Record<string, unknown>
}

export type AdminResponse = { ok: true; result: unknown } | { ok: false; error: string }

/** A request line longer than this is refused (the commands take a login and a reason). */
export const MAX_LINE_BYTES = 64 * 1024
/** A client that sends no full line within this is dropped. */
const IDLE_MS = 5000

const SOCKET_NAME = /^haraka-ldap\.(\d+)\.sock$/

export function socketPath(dir: string, pid: number): string {
  return path.join(dir, `haraka-ldap.${pid}.sock`)
}

export interface AdminServer {
  readonly path: string
  close(): Promise<void>
}

/** Answer one request line with the registered handlers. Never throws. */
export async function handleLine(
  line: string,
  handlers: ReadonlyMap<string, AdminHandler>,
): Promise<AdminResponse> {
  let req: AdminRequest
  try {
    req = JSON.parse(line) as AdminRequest
  } catch {
    return { ok: false, error: 'not a JSON request' }
  }
  const handler = typeof req?.command === 'string' ? handlers.get(req.command) : undefined
  if (!handler) return { ok: false, error: `unknown command ${JSON.stringify(req?.command ?? null)}` }
  const args = req.args && typeof req.args === 'object' && !Array.isArray(req.args) ? req.args : {}
  try {
    return { ok: true, result: await handler(args) }
  } catch (err) {
    return { ok: false, error: (err as Error)?.message ?? String(err) }
  }
}

/** The folder for the sockets: created 0700 when missing; an existing one must not be writable by others. */
export function prepareSocketDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const st = statSync(dir)
  if (!st.isDirectory()) throw new Error(`${dir} is not a folder`)
  if (st.mode & 0o022)
    throw new Error(`${dir} is writable by group or others: refusing to put a socket there`)
}

/** Serve `handlers` on this process's socket in `dir`. */
export function serveAdmin(
  dir: string,
  handlers: ReadonlyMap<string, AdminHandler>,
  pid = process.pid,
): Promise<AdminServer> {
  prepareSocketDir(dir)
  const file = socketPath(dir, pid)
  // sun_path holds 108 bytes with its NUL: a longer path would be cut short by the kernel
  if (Buffer.byteLength(file) > 107) throw new Error(`${file}: a unix socket path must be at most 107 bytes`)
  rmSync(file, { force: true }) // a socket left by an earlier process with this pid
  const server = net.createServer((socket) => {
    let buffered = ''
    socket.setEncoding('utf8')
    socket.setTimeout(IDLE_MS, () => socket.destroy())
    socket.on('error', () => socket.destroy())
    socket.on('data', (chunk: string) => {
      buffered += chunk
      const nl = buffered.indexOf('\n')
      if (nl < 0) {
        if (Buffer.byteLength(buffered) <= MAX_LINE_BYTES) return
        socket.removeAllListeners('data')
        buffered = ''
        return void socket.end(reply({ ok: false, error: 'request too long' }))
      }
      socket.removeAllListeners('data')
      void handleLine(buffered.slice(0, nl), handlers).then((r) => socket.end(reply(r)))
    })
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(file, () => {
      server.off('error', reject)
      chmodSync(file, 0o600)
      resolve({
        path: file,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            rmSync(file, { force: true })
          }),
      })
    })
  })
}

function reply(r: AdminResponse): string {
  return `${JSON.stringify(r)}\n`
}

/** One process's answer to the CLI, or why there was none. */
export type ProcessAnswer =
  | { pid: number; socket: string; response: AdminResponse }
  | { pid: number; socket: string; unreachable: string }

/** Ask one socket. */
export function ask(file: string, request: AdminRequest, timeoutMs = 5000): Promise<AdminResponse> {
  const socket = net.connect(file)
  const answered = new Promise<AdminResponse>((resolve, reject) => {
    let text = ''
    socket.setEncoding('utf8')
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`))
    socket.on('data', (chunk: string) => (text += chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      try {
        resolve(JSON.parse(text) as AdminResponse)
      } catch {
        reject(new Error('the answer is not JSON'))
      }
    })
  })
  return withDeadline(answered, timeoutMs, `no answer within ${timeoutMs} ms`, {
    onTimeout: () => socket.destroy(),
  })
}

/** The sockets in `dir`, by pid. A missing folder has none. */
export function sockets(dir: string): Array<{ pid: number; socket: string }> {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  return names.flatMap((name) => {
    const m = SOCKET_NAME.exec(name)
    return m ? [{ pid: Number(m[1]), socket: path.join(dir, name) }] : []
  })
}

/** Ask every Haraka process that has a socket in `dir`. A socket nobody serves (a process gone) is unreachable. */
export function askAll(dir: string, request: AdminRequest, timeoutMs = 5000): Promise<ProcessAnswer[]> {
  return Promise.all(
    sockets(dir).map(({ pid, socket }) =>
      ask(socket, request, timeoutMs).then(
        (response): ProcessAnswer => ({ pid, socket, response }),
        (err: NodeJS.ErrnoException): ProcessAnswer => ({
          pid,
          socket,
          unreachable: err.code ?? err.message,
        }),
      ),
    ),
  )
}
