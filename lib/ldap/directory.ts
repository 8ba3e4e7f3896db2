// The directory operations behind our small interface (lib/ldap/types): find a
// login's entry with the service account, verify a password by binding as that
// entry, read an entry, check a group. Which server and connection each runs on
// is lib/ldap/failover's; what a failure means is lib/ldap/errors'.
import { FilterParser } from 'ldapts'
import type { DirectoryConfig } from './config'
import { isHidden, isNoSuchObject, isTooManyMatches, isWrongPassword, unavailable } from './errors'
import { escapeDnValue, escapeFilterValue } from './escape'
import { createFailover, serverOfAnswer } from './failover'
import type { LdapObserver, LdapOperation } from './observer'
import type { ServerEvent } from './servers'
import { renderTemplate } from './template'
import type { AuthDirectory, BindResult, DirectoryEntry } from './types'

export interface DirectoryOptions {
  /** server marked down or up (for the log) */
  onServerEvent?: (event: ServerEvent) => void
  /** requests, server states and pools, for metrics (lib/ldap/observer) */
  observer?: LdapObserver
}

/** The LDAP client: the interface, and which servers are up (for operators and tests). */
export interface LdapDirectory extends AuthDirectory {
  /** Servers and whether each is currently considered up, in configured order. */
  serverStatus(): { url: string; up: boolean }[]
}

export function createDirectory(cfg: DirectoryConfig, opts: DirectoryOptions = {}): LdapDirectory {
  const failover = createFailover(cfg, opts.onServerEvent, opts.observer)
  const failed = (op: string, err: unknown) => unavailable(op, err, failover.anyUp())

  async function search(
    base: string,
    scope: 'base' | 'one' | 'sub',
    filter: string,
    attributes: readonly string[],
    sizeLimit: number,
    operation: LdapOperation,
  ) {
    const parsed = FilterParser.parseString(filter)
    const timeLimit = Math.ceil(cfg.timeout / 1000)
    return failover.service(
      async (c, server) => ({
        ...(await c.search(base, {
          scope,
          filter: parsed,
          attributes: [...attributes],
          sizeLimit,
          timeLimit,
        })),
        server,
      }),
      operation,
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
      return await failover.userBind(async (c, server) => {
        await c.bind(dn, password)
        if (!attributes.length) return { ok: true, entry: null, server }
        try {
          const { searchEntries } = await c.search(dn, {
            scope: 'base',
            filter: '(objectClass=*)',
            attributes: [...attributes],
          })
          return { ok: true, entry: searchEntries[0] ? toEntry(searchEntries[0]) : null, server }
        } catch (err) {
          // The user may not read their own entry (ACLs): the password was still right. Any
          // other answer is the directory failing, not a fact about the account.
          if (isHidden(err)) return { ok: true, entry: null, server }
          throw err
        }
      })
    } catch (err) {
      if (isWrongPassword(err)) return { ok: false, server: serverOfAnswer(err) }
      throw failed('bind', err)
    }
  }

  return {
    async findUser(parts, attributes) {
      const filter = renderTemplate(cfg.userFilter, parts, escapeFilterValue)
      try {
        // Size limit 2: one match is the user, two means the filter is ambiguous.
        const scope = cfg.scope as 'sub' | 'one'
        const { searchEntries, server } = await search(cfg.base_dn, scope, filter, attributes, 2, 'search')
        if (searchEntries.length === 0) return { kind: 'none', server }
        if (searchEntries.length > 1) return { kind: 'ambiguous', server }
        return { kind: 'found', entry: toEntry(searchEntries[0]!), server }
      } catch (err) {
        if (isTooManyMatches(err)) return { kind: 'ambiguous', server: serverOfAnswer(err) }
        throw failed('search', err)
      }
    },

    userDns(parts) {
      return cfg.dnTemplates.map((t) => renderTemplate(t, parts, escapeDnValue))
    },

    async readEntry(dn, attributes) {
      try {
        const { searchEntries } = await search(dn, 'base', '(objectClass=*)', attributes, 1, 'read')
        return searchEntries[0] ? toEntry(searchEntries[0]) : null
      } catch (err) {
        if (isNoSuchObject(err)) return null
        throw failed('read', err)
      }
    },

    async isMember(groupDn, memberDn, memberAttributes = ['member', 'uniqueMember']) {
      const value = escapeFilterValue(memberDn)
      const filter = `(|${memberAttributes.map((a) => `(${a}=${value})`).join('')})`
      try {
        const { searchEntries } = await search(groupDn, 'base', filter, ['1.1'], 1, 'group')
        return searchEntries.length > 0
      } catch (err) {
        if (isNoSuchObject(err)) return false
        throw failed('group check', err)
      }
    },

    async checkPassword(dn, password) {
      return (await bindAndRead(dn, password, [])).ok
    },

    bindAndRead,

    serverStatus: () => failover.status(),

    close: () => failover.close(),
  }
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
