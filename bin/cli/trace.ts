// An AuthDirectory that notes every operation the AUTH pipeline runs on it (the
// search and its filter, the DNs tried, each bind's result, the entry reads and
// group checks), for `haraka-ldap test`. It never notes a password.
import { escapeFilterValue } from '../../lib/ldap/escape'
import type { DirectoryConfig } from '../../lib/ldap/config'
import { renderTemplate } from '../../lib/ldap/template'
import type { AuthDirectory, DirectoryEntry } from '../../lib/ldap/types'

export type Step =
  | {
      op: 'search'
      base: string
      scope: string
      filter: string
      result: 'found' | 'none' | 'ambiguous'
      dn?: string
    }
  | { op: 'dn_templates'; dns: string[] }
  | { op: 'bind'; dn: string; result: 'ok' | 'invalid_credentials' }
  | { op: 'read'; dn: string; result: 'found' | 'none' }
  | { op: 'group'; group: string; dn: string; member: boolean }
  | { op: 'error'; during: string; error: string }

export interface Trace {
  steps: Step[]
  /** the attributes the pipeline saw of the user's entry (for the account-state checks) */
  entry: DirectoryEntry | null | undefined
}

export function tracedDirectory(dir: AuthDirectory, cfg: DirectoryConfig, trace: Trace): AuthDirectory {
  const failed = (during: string) => (err: unknown) => {
    trace.steps.push({ op: 'error', during, error: (err as Error).message })
    throw err
  }
  return {
    async findUser(parts, attributes) {
      const filter = renderTemplate(cfg.userFilter, parts, escapeFilterValue)
      const found = await dir.findUser(parts, attributes).catch(failed('search'))
      trace.steps.push({
        op: 'search',
        base: cfg.base_dn,
        scope: cfg.scope,
        filter,
        result: found.kind,
        ...(found.kind === 'found' ? { dn: found.entry.dn } : {}),
      })
      if (found.kind === 'found') trace.entry = found.entry
      return found
    },
    userDns(parts) {
      const dns = dir.userDns(parts)
      trace.steps.push({ op: 'dn_templates', dns })
      return dns
    },
    async readEntry(dn, attributes) {
      const entry = await dir.readEntry(dn, attributes).catch(failed('read'))
      trace.steps.push({ op: 'read', dn, result: entry ? 'found' : 'none' })
      trace.entry = entry
      return entry
    },
    async isMember(group, dn, memberAttributes) {
      const member = await dir.isMember(group, dn, memberAttributes).catch(failed('group check'))
      trace.steps.push({ op: 'group', group, dn, member })
      return member
    },
    async checkPassword(dn, password) {
      const ok = await dir.checkPassword(dn, password).catch(failed('bind'))
      trace.steps.push({ op: 'bind', dn, result: ok ? 'ok' : 'invalid_credentials' })
      return ok
    },
    async bindAndRead(dn, password, attributes) {
      const r = await dir.bindAndRead(dn, password, attributes).catch(failed('bind'))
      trace.steps.push({ op: 'bind', dn, result: r.ok ? 'ok' : 'invalid_credentials' })
      if (r.ok) trace.entry = r.entry
      return r
    },
    close: () => dir.close(),
  }
}
