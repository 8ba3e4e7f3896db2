// The directory behind our small interface: find a login's entry with the
// service account, verify a password by binding as that entry, read an entry.
// Searches and user binds use separate bounded pools (a user bind changes a
// connection's identity, so those connections never run searches). Servers are
// tried in order; one that fails is marked down and probed in the background,
// and pooled connections to a backup retire once an earlier server is back.
import {
  Client,
  FilterParser,
  InvalidCredentialsError,
  ResultCodeError,
  SizeLimitExceededError,
} from 'ldapts'
import type { DirectoryConfig } from './config'
import {
  DirectoryBusyError,
  describeLdapError,
  DirectoryUnavailableError,
  openClient,
  openServer,
  openServerMs,
} from './connect'
import { escapeDnValue, escapeFilterValue } from './escape'
import { Pool, PoolTimeoutError } from './pool'
import { ServerSet, type ServerEvent } from './servers'
import { renderTemplate, type LoginParts } from './template'

export { DirectoryBusyError, DirectoryUnavailableError } from './connect'

export interface DirectoryEntry {
  dn: string
  /** attribute names lower-cased, values as strings */
  attributes: Record<string, string[]>
}

export type Lookup = { kind: 'found'; entry: DirectoryEntry } | { kind: 'none' } | { kind: 'ambiguous' }

/** Result of bindAndRead: the password was wrong, or right (with the entry as the user may read it). */
export type BindResult = { ok: false } | { ok: true; entry: DirectoryEntry | null }

export interface Directory {
  /** Search mode: the one entry matching user_filter for this login. */
  findUser(parts: LoginParts, attributes: readonly string[]): Promise<Lookup>
  /** Template mode: the DN built from the first dn_template for this login. */
  userDn(parts: LoginParts): string
  /** Template mode: the DNs built from every dn_template, in order. */
  userDns(parts: LoginParts): string[]
  /** Read one entry by DN (service account, or anonymous when none is set). */
  readEntry(dn: string, attributes: readonly string[]): Promise<DirectoryEntry | null>
  /**
   * True when the entry `groupDn` lists `memberDn` in one of `memberAttributes`
   * (member, uniqueMember: DN-valued, so the server compares them as DNs).
   * False when it does not, or when the group does not exist.
   */
  isMember(groupDn: string, memberDn: string, memberAttributes?: readonly string[]): Promise<boolean>
  /** True when `password` binds as `dn`; false on invalid credentials. Never call with an empty password. */
  checkPassword(dn: string, password: string): Promise<boolean>
  close(): Promise<void>
}

/** What ldap_auth needs besides the shared interface (kept separate so fakes of Directory stay valid). */
export interface AuthDirectory extends Directory {
  /**
   * Bind as `dn`; on success read `attributes` of the entry on the same
   * connection, with the user's own rights (nothing is read when the list is empty).
   */
  bindAndRead(dn: string, password: string, attributes: readonly string[]): Promise<BindResult>
  /** Servers and whether each is currently considered up, in configured order. */
  serverStatus(): { url: string; up: boolean }[]
}

export interface DirectoryOptions {
  /** server marked down or up (for the log) */
  onServerEvent?: (event: ServerEvent) => void
}

interface Conn {
  client: Client
  url: string
}

// LDAP result codes meaning the entry or name is not there (no outage).
const NO_SUCH_OBJECT = 32
const INSUFFICIENT_ACCESS = 50
// LDAP result codes meaning "this server cannot serve now" (RFC 4511 busy, unavailable,
// unwillingToPerform, other): the server's failure, not an answer about the request.
const SERVER_FAILURE = new Set([51, 52, 53, 80])
const WHO_AM_I = '1.3.6.1.4.1.4203.1.11.3'

function isServerFailure(err: unknown): boolean {
  return err instanceof ResultCodeError && SERVER_FAILURE.has(err.code)
}

/** ldapts rejects a request that got no answer in time with this message (and drops the socket). */
function isTimeout(err: unknown): boolean {
  return err instanceof Error && /timed? ?out/i.test(err.message)
}

export function createDirectory(cfg: DirectoryConfig, opts: DirectoryOptions = {}): AuthDirectory {
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
      opts.onServerEvent?.(event)
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
  async function run<R>(pool: Pool<Conn>, fn: (c: Client) => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      let used: Conn | undefined
      try {
        return await pool.use(
          (conn) => {
            used = conn
            return fn(conn.client)
          },
          (err) => err instanceof ResultCodeError && !isServerFailure(err),
        )
      } catch (err) {
        // An LDAP answer about the request (no such entry, wrong password...) is the answer.
        if ((err instanceof ResultCodeError && !isServerFailure(err)) || !used) throw err
        const failed = used.url
        const why = isServerFailure(err)
          ? 'refused to serve'
          : isTimeout(err)
            ? 'timeout'
            : 'connection failed'
        servers.markDown(failed, `${why}: ${describeLdapError(err)}`)
        // A hung or refusing server would answer a retry the same way: retry only elsewhere.
        const worthIt = isTimeout(err) || isServerFailure(err) ? servers.hasAlternative(failed) : true
        if (attempt > 1 || !worthIt) throw err
      }
    }
  }

  async function search(
    base: string,
    scope: 'base' | 'one' | 'sub',
    filter: string,
    attributes: readonly string[],
    sizeLimit: number,
  ) {
    const parsed = FilterParser.parseString(filter)
    const timeLimit = Math.ceil(cfg.timeout / 1000)
    return run(service, (c) =>
      c.search(base, { scope, filter: parsed, attributes: [...attributes], sizeLimit, timeLimit }),
    )
  }

  async function bindAndRead(
    dn: string,
    password: string,
    attributes: readonly string[],
  ): Promise<BindResult> {
    // Defence in depth: an empty password is an unauthenticated bind (RFC 4513 §5.1.2).
    if (password.length === 0) return { ok: false }
    try {
      return await run(binds, async (c) => {
        await c.bind(dn, password)
        if (!attributes.length) return { ok: true, entry: null }
        try {
          const { searchEntries } = await c.search(dn, {
            scope: 'base',
            filter: '(objectClass=*)',
            attributes: [...attributes],
          })
          return { ok: true, entry: searchEntries[0] ? toEntry(searchEntries[0]) : null }
        } catch (err) {
          // The user may not read their own entry (ACLs: insufficientAccessRights, or
          // noSuchObject when the server hides it): the password was still right. Any
          // other answer is the directory failing, not a fact about the account.
          if (
            err instanceof ResultCodeError &&
            (err.code === INSUFFICIENT_ACCESS || err.code === NO_SUCH_OBJECT)
          )
            return { ok: true, entry: null }
          throw err
        }
      })
    } catch (err) {
      if (err instanceof InvalidCredentialsError) return { ok: false }
      throw unavailable('bind', err, servers)
    }
  }

  return {
    async findUser(parts, attributes) {
      const filter = renderTemplate(cfg.userFilter, parts, escapeFilterValue)
      try {
        // Size limit 2: one match is the user, two means the filter is ambiguous.
        const { searchEntries } = await search(cfg.base_dn, cfg.scope as 'sub' | 'one', filter, attributes, 2)
        if (searchEntries.length === 0) return { kind: 'none' }
        if (searchEntries.length > 1) return { kind: 'ambiguous' }
        return { kind: 'found', entry: toEntry(searchEntries[0]!) }
      } catch (err) {
        if (err instanceof SizeLimitExceededError) return { kind: 'ambiguous' }
        throw unavailable('search', err, servers)
      }
    },

    userDn(parts) {
      return renderTemplate(cfg.dnTemplate, parts, escapeDnValue)
    },

    userDns(parts) {
      return cfg.dnTemplates.map((t) => renderTemplate(t, parts, escapeDnValue))
    },

    async readEntry(dn, attributes) {
      try {
        const { searchEntries } = await search(dn, 'base', '(objectClass=*)', attributes, 1)
        return searchEntries[0] ? toEntry(searchEntries[0]) : null
      } catch (err) {
        if (err instanceof ResultCodeError && err.code === NO_SUCH_OBJECT) return null
        throw unavailable('read', err, servers)
      }
    },

    async isMember(groupDn, memberDn, memberAttributes = ['member', 'uniqueMember']) {
      const value = escapeFilterValue(memberDn)
      const filter = `(|${memberAttributes.map((a) => `(${a}=${value})`).join('')})`
      try {
        const { searchEntries } = await search(groupDn, 'base', filter, ['1.1'], 1)
        return searchEntries.length > 0
      } catch (err) {
        if (err instanceof ResultCodeError && err.code === NO_SUCH_OBJECT) return false
        throw unavailable('group check', err, servers)
      }
    },

    async checkPassword(dn, password) {
      return (await bindAndRead(dn, password, [])).ok
    },

    bindAndRead,

    serverStatus() {
      return servers.urls.map((url) => ({ url, up: servers.isUp(url) }))
    },

    async close() {
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
    if (cfg.bind_dn || !(err instanceof ResultCodeError) || isServerFailure(err)) throw err
  } finally {
    await client.unbind().catch(() => undefined)
  }
}

function unavailable(op: string, err: unknown, servers: ServerSet): Error {
  if (err instanceof DirectoryUnavailableError) return err
  // A full pool while every server is marked down is the outage itself, not load.
  if (err instanceof PoolTimeoutError && servers.urls.some((u) => servers.isUp(u))) {
    return new DirectoryBusyError(`${op} failed: connection pool busy: ${err.message}`, { cause: err })
  }
  return new DirectoryUnavailableError(`${op} failed: ${describeLdapError(err)}`, { cause: err })
}

function toEntry(raw: { dn: string; [key: string]: unknown }): DirectoryEntry {
  const attributes: Record<string, string[]> = {}
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'dn') continue
    const values = Array.isArray(value) ? value : [value]
    attributes[key.toLowerCase()] = values.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)))
  }
  return { dn: raw.dn, attributes }
}
