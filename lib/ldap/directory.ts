// The directory behind our small interface: find a login's entry with the
// service account, verify a password by binding as that entry, read an entry.
// Searches and user binds use separate bounded pools (a user bind changes a
// connection's identity, so those connections never run searches).
import { Client, FilterParser, InvalidCredentialsError, ResultCodeError, SizeLimitExceededError } from 'ldapts'
import type { DirectoryConfig } from './config'
import { DirectoryUnavailableError, openClient } from './connect'
import { escapeDnValue, escapeFilterValue } from './escape'
import { Pool } from './pool'
import { renderTemplate, type LoginParts } from './template'

export { DirectoryUnavailableError } from './connect'

export interface DirectoryEntry {
  dn: string
  /** attribute names lower-cased, values as strings */
  attributes: Record<string, string[]>
}

export type Lookup = { kind: 'found'; entry: DirectoryEntry } | { kind: 'none' } | { kind: 'ambiguous' }

export interface Directory {
  /** Search mode: the one entry matching user_filter for this login. */
  findUser(parts: LoginParts, attributes: readonly string[]): Promise<Lookup>
  /** Template mode: the DN built from dn_template for this login. */
  userDn(parts: LoginParts): string
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

// LDAP result codes meaning the entry or name is not there (no outage).
const NO_SUCH_OBJECT = 32

export function createDirectory(cfg: DirectoryConfig): Directory {
  const acquireTimeoutMs = cfg.timeout
  const service = new Pool<Client>({
    max: cfg.pool_size,
    acquireTimeoutMs,
    idleTimeoutMs: cfg.idle_timeout,
    create: async () => {
      const { client } = await openClient(cfg)
      try {
        if (cfg.bind_dn) await client.bind(cfg.bind_dn, cfg.bind_password)
      } catch (err) {
        await client.unbind().catch(() => undefined)
        throw err
      }
      return client
    },
    destroy: (c) => c.unbind().catch(() => undefined),
    validate: (c) => c.isConnected,
  })
  const binds = new Pool<Client>({
    max: cfg.bind_pool_size,
    acquireTimeoutMs,
    idleTimeoutMs: cfg.idle_timeout,
    create: async () => (await openClient(cfg)).client,
    destroy: (c) => c.unbind().catch(() => undefined),
    validate: (c) => c.isConnected,
  })

  // An LDAP result (wrong password, no such object) leaves the connection healthy.
  const keepOnResult = (err: unknown) => err instanceof ResultCodeError

  async function search(base: string, scope: 'base' | 'one' | 'sub', filter: string, attributes: readonly string[], sizeLimit: number) {
    return service.use(
      (c) => c.search(base, { scope, filter: FilterParser.parseString(filter), attributes: [...attributes], sizeLimit, timeLimit: Math.ceil(cfg.timeout / 1000) }),
      keepOnResult,
    )
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
        throw unavailable('search', err)
      }
    },

    userDn(parts) {
      return renderTemplate(cfg.dnTemplate, parts, escapeDnValue)
    },

    async readEntry(dn, attributes) {
      try {
        const { searchEntries } = await search(dn, 'base', '(objectClass=*)', attributes, 1)
        return searchEntries[0] ? toEntry(searchEntries[0]) : null
      } catch (err) {
        if (err instanceof ResultCodeError && err.code === NO_SUCH_OBJECT) return null
        throw unavailable('read', err)
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
        throw unavailable('group check', err)
      }
    },

    async checkPassword(dn, password) {
      // Defence in depth: an empty password is an unauthenticated bind (RFC 4513 §5.1.2).
      if (password.length === 0) return false
      try {
        await binds.use((c) => c.bind(dn, password), keepOnResult)
        return true
      } catch (err) {
        if (err instanceof InvalidCredentialsError) return false
        throw unavailable('bind', err)
      }
    },

    async close() {
      await Promise.all([service.close(), binds.close()])
    },
  }
}

function unavailable(op: string, err: unknown): Error {
  if (err instanceof DirectoryUnavailableError) return err
  const detail = err instanceof ResultCodeError ? `LDAP result ${err.code}: ${err.message}` : (err as Error).message
  return new DirectoryUnavailableError(`${op} failed: ${detail}`, { cause: err })
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
