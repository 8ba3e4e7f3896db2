// The servers behind one directory, and the connections to them. Searches and
// user binds use separate bounded pools (a user bind changes a connection's
// identity, so those connections never run searches). Servers are tried in
// order; one that fails is marked down and probed in the background, an
// operation it failed is retried once elsewhere, and pooled connections to a
// backup retire once an earlier server is back.
import type { Client } from 'ldapts'
import type { DirectoryConfig } from './config'
import { openClient, openServer, openServerMs } from './connect'
import { describeLdapError, failureKind, isAnswer, isServerFailure, isTimeout } from './errors'
import { Pool } from './pool'
import type { LdapObserver, LdapOperation, LdapOutcome, PoolState } from './observer'
import { ServerSet, type ServerEvent } from './servers'

interface Conn {
  client: Client
  url: string
}

/** `fn` gets the connection and the URL of its server (the one that answers). */
type Operation<R> = (client: Client, server: string) => Promise<R>

export interface Failover {
  /** Run `fn` on a connection bound as the service account (anonymous when none is set), counted as `operation`. */
  service<R>(fn: Operation<R>, operation: LdapOperation): Promise<R>
  /** Run `fn` on a connection for user binds (counted as a bind). */
  userBind<R>(fn: Operation<R>): Promise<R>
  /** Servers and whether each is currently considered up, in configured order. */
  status(): { url: string; up: boolean }[]
  anyUp(): boolean
  close(): Promise<void>
}

const WHO_AM_I = '1.3.6.1.4.1.4203.1.11.3'

/** The server that answered a request with an LDAP error (wrong password, no such entry...). */
const answeredBy = new WeakMap<object, string>()

/** Which server gave this LDAP answer (an error run() let through), when it is one. */
export function serverOfAnswer(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? answeredBy.get(err) : undefined
}

export function createFailover(
  cfg: DirectoryConfig,
  onServerEvent?: (event: ServerEvent) => void,
  observer?: LdapObserver,
): Failover {
  // Every step below has its own timer; these bound a whole probe or pool create as a safety net
  // (with a margin, so the more precise error of the inner timer normally wins).
  const probeMs = openServerMs(cfg) + cfg.timeout
  const servers: ServerSet = new ServerSet(cfg.servers, {
    healthIntervalMs: cfg.health_check_interval,
    probe: (url) => probe(url, cfg),
    probeTimeoutMs: probeMs + 500,
    onChange: (event) => {
      // A server went down, or one earlier in the list is back: idle connections that no
      // longer validate retire now, busy ones when they are given back.
      for (const pool of [service, binds]) pool.prune()
      observer?.server?.({ server: event.url, up: event.up })
      onServerEvent?.(event)
    },
  })

  // A connection is used only while its server is the one to use: not outranked by an earlier
  // server that is up, and not marked down while another server is up (a hung server keeps its
  // TCP connections open, so isConnected alone would send the retry straight back to it).
  const healthy = (c: Conn) =>
    c.client.isConnected &&
    !servers.outranked(c.url) &&
    (servers.isUp(c.url) || !servers.hasAlternative(c.url))
  const destroy = (c: Conn) => c.client.unbind().catch(() => undefined)
  const service = new Pool<Conn>({
    max: cfg.pool_size,
    acquireTimeoutMs: cfg.timeout,
    createTimeoutMs: cfg.servers.length * probeMs + 500,
    idleTimeoutMs: cfg.idle_timeout,
    // Any failure of the service bind (refused, busy, timed out) is that server's: try the next.
    create: () =>
      openClient(
        cfg,
        servers,
        cfg.bind_dn
          ? { what: 'service bind', run: (c) => c.bind(cfg.bind_dn, cfg.bind_password) }
          : undefined,
      ),
    destroy,
    validate: healthy,
  })
  const binds = new Pool<Conn>({
    max: cfg.bind_pool_size,
    acquireTimeoutMs: cfg.timeout,
    createTimeoutMs: cfg.servers.length * openServerMs(cfg) + 500,
    idleTimeoutMs: cfg.idle_timeout,
    create: () => openClient(cfg, servers),
    destroy,
    validate: healthy,
  })

  /**
   * Run `fn` on a pooled connection. An LDAP result keeps the connection; a
   * transport failure discards it and marks its server down, and the operation
   * is retried once: after a dropped socket always, after a timeout only when
   * another server is up (so one hung server still answers within `timeout`).
   * Marking the server down retires its idle connections (see `healthy`), so
   * the retry runs on a connection to the next server, never on another
   * connection to the one that just failed.
   */
  async function run<R>(pool: Pool<Conn>, fn: Operation<R>, operation: LdapOperation): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      let used: Conn | undefined
      let started = 0
      const report = (outcome: LdapOutcome) =>
        observer?.request?.({
          server: used?.url ?? 'none',
          operation,
          outcome,
          seconds: used ? (performance.now() - started) / 1000 : 0,
        })
      try {
        const result = await pool.use((conn) => {
          used = conn
          started = performance.now()
          return fn(conn.client, conn.url)
        }, isAnswer)
        report('success')
        return result
      } catch (err) {
        report(!used ? 'no_connection' : isAnswer(err) ? 'refused' : isTimeout(err) ? 'timeout' : 'error')
        // An LDAP answer about the request (no such entry, wrong password...) is the answer.
        if (isAnswer(err) && used && typeof err === 'object' && err !== null) answeredBy.set(err, used.url)
        if (isAnswer(err) || !used) throw err
        const failed = used.url
        servers.markDown(failed, `${failureKind(err)}: ${describeLdapError(err)}`)
        // A hung or refusing server would answer a retry the same way: retry only elsewhere.
        const worthIt = isTimeout(err) || isServerFailure(err) ? servers.hasAlternative(failed) : true
        if (attempt > 1 || !worthIt) throw err
      }
    }
  }

  for (const url of cfg.servers) observer?.server?.({ server: url, up: true })
  const state = (pool: Pool<Conn>, name: PoolState['pool']): PoolState => ({
    pool: name,
    busy: pool.total - pool.idleCount,
    idle: pool.idleCount,
    waiting: pool.waitingCount,
  })
  const forgetPools = observer?.pools?.(() => [state(service, 'service'), state(binds, 'bind')])

  return {
    service: (fn, operation) => run(service, fn, operation),
    userBind: (fn) => run(binds, fn, 'bind'),
    status: () => servers.urls.map((url) => ({ url, up: servers.isUp(url) })),
    anyUp: () => servers.urls.some((url) => servers.isUp(url)),
    async close() {
      forgetPools?.()
      servers.close()
      await Promise.all([service.close(), binds.close()])
    },
  }
}

/**
 * Health probe: connect, then bind as the service account, which must succeed (a
 * server that refuses it cannot serve us), or without one send a WhoAmI, where any
 * LDAP answer but busy/unavailable/unwilling/other means "up" (a server may not
 * implement WhoAmI).
 */
async function probe(url: string, cfg: DirectoryConfig): Promise<void> {
  const client = await openServer(url, cfg)
  try {
    if (cfg.bind_dn) await client.bind(cfg.bind_dn, cfg.bind_password)
    else await client.exop(WHO_AM_I)
  } catch (err) {
    if (cfg.bind_dn || !isAnswer(err)) throw err
  } finally {
    await client.unbind().catch(() => undefined)
  }
}
