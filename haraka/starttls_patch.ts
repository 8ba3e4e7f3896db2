// The one place that reaches into Haraka's tls_socket: give every STARTTLS upgrade a
// shared SecureContext instead of letting Node build one per connection.
//
// Haraka 3.3.4 tls_socket.createServer() gives each plain socket an `upgrade(cb)`
// closure that builds `options = { ...certsByHost['*'] }` and calls
// `new tls.TLSSocket(cryptoSocket, options)`. Node uses `options.secureContext` when it
// is set and otherwise calls tls.createSecureContext(options). So the patch wraps the
// exported createServer, and around each socket's upgrade it sets
// certsByHost['*'].secureContext to the cached context for the options the upgrade is
// about to copy, and removes it again right after (the upgrade is synchronous: nothing
// else runs in between). Every other option (SNICallback and its per-host contexts,
// requestCert, rejectUnauthorized per port, the server for OCSP) is Haraka's, as before.
//
// If the shape it relies on is not there, it patches nothing and says why: Haraka then
// works as stock. If a future Haraka sets a secureContext itself, the patch steps aside.
import type tls from 'node:tls'
import { createContextCache, type ContextCache, type ContextOptions } from '../lib/tls/shared_context'

const PATCHED = Symbol.for('haraka-ldap-submission.tls_context')

type Upgrade = (this: unknown, ...args: unknown[]) => unknown
interface PlainSocket {
  upgrade?: Upgrade
}
type CreateServer = ((this: unknown, cb: (socket: PlainSocket) => void) => unknown) & {
  [PATCHED]?: ContextCache
}

export interface TlsSocketModule {
  createServer?: unknown
  Server?: unknown
  certsByHost?: unknown
}

/** Text of tls_socket's createServer that the patch depends on (Haraka 3.3.x). */
export const SHAPE_MARKERS = [
  'socket.upgrade = (cb2) =>',
  "const options = { ...certsByHost['*'] }",
  'new tls.TLSSocket(cryptoSocket, options)',
] as const

export type PatchResult =
  { patched: true; already: boolean; cache: ContextCache } | { patched: false; reason: string }

/** Why this tls_socket cannot be patched, or undefined when it can. */
export function shapeProblem(mod: TlsSocketModule, harakaVersion: unknown): string | undefined {
  if (typeof harakaVersion !== 'string' || !/^3\./.test(harakaVersion)) {
    return `Haraka version ${String(harakaVersion)} is not 3.x`
  }
  if (typeof mod.createServer !== 'function') return 'tls_socket.createServer is not a function'
  if (mod.Server !== mod.createServer) return 'tls_socket.Server is not tls_socket.createServer'
  const byHost = mod.certsByHost as Record<string, unknown> | undefined
  if (!byHost || typeof byHost !== 'object') return 'tls_socket.certsByHost is missing'
  const source = Function.prototype.toString.call(mod.createServer)
  const missing = SHAPE_MARKERS.find((marker) => !source.includes(marker))
  if (missing) return `tls_socket.createServer no longer contains ${JSON.stringify(missing)}`
  return undefined
}

function wrapUpgrade(socket: PlainSocket, certsByHost: Record<string, unknown>, cache: ContextCache): void {
  const upgrade = socket.upgrade
  if (typeof upgrade !== 'function') return
  socket.upgrade = function (this: unknown, ...args: unknown[]) {
    const opts = certsByHost['*'] as Record<string, unknown> | undefined
    if (!opts || typeof opts !== 'object' || opts.secureContext !== undefined)
      return upgrade.apply(this, args)
    const context: tls.SecureContext | undefined = cache.contextFor(opts as ContextOptions)
    if (!context) return upgrade.apply(this, args)
    const hadKey = Object.hasOwn(opts, 'secureContext')
    opts.secureContext = context
    try {
      return upgrade.apply(this, args)
    } finally {
      if (hadKey) opts.secureContext = undefined
      else delete opts.secureContext
    }
  }
}

/**
 * Patch tls_socket (idempotent: a second call finds the first patch and returns it).
 * `harakaVersion` is Haraka's package.json version.
 */
export function patchStarttls(
  mod: TlsSocketModule,
  harakaVersion: unknown,
  onBuild?: (n: number, error?: Error) => void,
): PatchResult {
  const current = mod.createServer as CreateServer | undefined
  const existing = typeof current === 'function' ? current[PATCHED] : undefined
  if (existing) return { patched: true, already: true, cache: existing }
  const problem = shapeProblem(mod, harakaVersion)
  if (problem) return { patched: false, reason: problem }

  const original = current as CreateServer
  const certsByHost = mod.certsByHost as Record<string, unknown>
  const cache = createContextCache(undefined, onBuild)
  const wrapped: CreateServer = function (this: unknown, cb: (socket: PlainSocket) => void) {
    return original.call(this, (socket: PlainSocket) => {
      wrapUpgrade(socket, certsByHost, cache)
      cb(socket)
    })
  }
  wrapped[PATCHED] = cache
  mod.createServer = wrapped
  mod.Server = wrapped
  return { patched: true, already: false, cache }
}
