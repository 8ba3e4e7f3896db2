// One TLS SecureContext for as long as the options it is built from stay the same.
// Node's `new tls.TLSSocket(socket, options)` without `options.secureContext` runs
// `tls.createSecureContext(options)` for every socket: a new SSL_CTX, the key and
// certificate parsed again, the DH parameters loaded again. A context built once from
// the same options gives the same handshake; this cache keeps it and builds a new one
// the moment any option differs (a reloaded certificate is a new Buffer in a new array).
//
// One difference is made on purpose: a shared context would let a client resume a
// session (ticket or session id) from an earlier connection, which per-connection
// contexts never allow (each has fresh ticket keys and an empty cache). A resumed
// session skips the certificate request, so it could carry one port's client
// authentication (or its absence) to another port. The shared context therefore adds
// SSL_OP_NO_TICKET; Node's server session cache is external-only, so with no tickets
// nothing resumes, exactly as before.
import { constants } from 'node:crypto'
import tls from 'node:tls'

/** The options object a TLS socket would be built from (Haraka's certsByHost['*']). */
export type ContextOptions = Readonly<Record<string, unknown>>

export type CreateContext = (options: tls.SecureContextOptions) => tls.SecureContext

export interface ContextCache {
  /**
   * The context for these options: the cached one when every option is the same value
   * as when it was built, else a new one. undefined when a context cannot be built from
   * them (the caller then lets Node build one, and fail, as it would have anyway).
   */
  contextFor(options: ContextOptions): tls.SecureContext | undefined
  /** How many contexts were built (a reload adds one; connections add none). */
  readonly builds: number
}

type Entry = readonly [key: string, value: unknown, elements: readonly unknown[] | undefined]

function snapshot(options: ContextOptions): Entry[] {
  return Object.keys(options).map((key) => {
    const value = options[key]
    return [key, value, Array.isArray(value) ? [...(value as unknown[])] : undefined] as const
  })
}

/** True when `options` holds exactly the keys of `snap`, each the same value (arrays: same elements). */
function unchanged(snap: readonly Entry[], options: ContextOptions): boolean {
  let keys = 0
  for (const key in options) if (Object.hasOwn(options, key)) keys++
  if (keys !== snap.length) return false
  for (const [key, value, elements] of snap) {
    const now = options[key]
    if (now !== value) return false
    if (elements) {
      const arr = now as readonly unknown[]
      if (arr.length !== elements.length) return false
      for (let i = 0; i < elements.length; i++) if (arr[i] !== elements[i]) return false
    }
  }
  return true
}

/** The options for the shared context: as given, plus no session tickets (see above). */
export function sharedContextOptions(options: ContextOptions): tls.SecureContextOptions | undefined {
  const secureOptions = options.secureOptions ?? 0
  if (typeof secureOptions !== 'number') return undefined
  return { ...options, secureOptions: secureOptions | constants.SSL_OP_NO_TICKET } as tls.SecureContextOptions
}

/** onBuild: told after each context built (n counts from 1), or when building one failed. */
export function createContextCache(
  create: CreateContext = tls.createSecureContext,
  onBuild: (n: number, error?: Error) => void = () => {},
): ContextCache {
  let snap: Entry[] | undefined
  let context: tls.SecureContext | undefined
  let builds = 0
  return {
    contextFor(options) {
      if (snap && unchanged(snap, options)) return context
      snap = snapshot(options)
      context = undefined
      const opts = sharedContextOptions(options)
      if (!opts) return undefined
      try {
        context = create(opts)
        builds++
      } catch (err) {
        context = undefined // remembered for these options: no retry per connection
        onBuild(builds, err as Error)
        return undefined
      }
      onBuild(builds)
      return context
    },
    get builds() {
      return builds
    },
  }
}
