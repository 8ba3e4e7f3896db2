// A proxy login (proxy_logins) acting as the PLAIN authzid it gives (RFC 4616):
// whether the privilege holds on the entry its password bound to, and the
// identity the authzid's own entry gives the session. Both ask the directory.
import type { AuthConfig } from './config'
import { sessionIdentity, type IdentityRule } from './identity'
import type { AuthDirectory, Lookup } from '../ldap/types'
import { dnEqual } from '../ldap/dn'
import { findLoginEntry } from '../ldap/login_entry'
import { loginParts } from '../ldap/template'

/** Where an accepted password was checked: the local file, or the directory entry it bound to. */
export type Source = { local: true } | { dn: string }

export type ProxyRefusal = 'authzid_not_permitted' | 'proxy_login_not_unique'

export type AuthzidProblem = 'authzid_unknown' | 'ignored_authzid_text'

/** What the lookups need of lib/authn/verify's context. */
export interface ProxyContext {
  directory: AuthDirectory
  mode: 'search' | 'template'
  cfg: Pick<AuthConfig, 'proxyLogins' | 'proxyLoginList'>
  identityRule?: IdentityRule
}

/**
 * A proxy login's privilege belongs to a directory entry, not to the text of a login: the
 * password must have bound to the entry one of proxy_logins names, each looked up as a
 * login is (user_filter, or the one dn_template DN that exists, read as bind_dn or
 * anonymously), so the directory's own matching decides, never a JavaScript case fold
 * (`\u212Aarl` is "Karl" after NFC, which a case-exact directory keeps apart from "karl").
 * A local user (auth_enc_file.ini, which compares case-insensitively) is its own entry.
 * Returns why not (reason and detail for the log), or undefined when the privilege holds.
 */
export async function proxyRefusal(
  ctx: ProxyContext,
  login: string,
  source: Source | undefined,
): Promise<{ reason: ProxyRefusal; detail?: string } | undefined> {
  if (!source) return { reason: 'authzid_not_permitted', detail: 'no directory entry to hold the privilege' }
  if ('local' in source)
    return ctx.cfg.proxyLogins.has(login.toLowerCase()) ? undefined : { reason: 'authzid_not_permitted' }
  let own: Lookup | undefined
  for (const proxyLogin of ctx.cfg.proxyLoginList) {
    const owner = await findLoginEntry(ctx.directory, ctx.mode, proxyLogin, ['1.1'])
    if (owner.kind === 'found' && dnEqual(owner.entry.dn, source.dn)) return undefined
    if (proxyLogin === login) own = owner
  }
  // The login is listed as written, yet the password bound elsewhere (template mode) or the
  // listed login names no single entry: say so. Any other login simply is not a proxy login.
  if (!own) return { reason: 'authzid_not_permitted' }
  const why =
    own.kind === 'ambiguous'
      ? ctx.mode === 'template'
        ? 'the login names entries under several dn_templates'
        : 'the login matches several entries'
      : own.kind === 'none'
        ? 'no entry for the login is readable by bind_dn (or anonymously)'
        : 'the password bound to another entry than the login names'
  return { reason: 'proxy_login_not_unique', detail: why }
}

/** The identity a proxy login acts as: the authzid's own entry's, as for a login (lib/authn/identity). */
export async function authzidIdentity(
  ctx: ProxyContext,
  authzid: string,
): Promise<{ ok: true; identity: string } | { ok: false; reason: AuthzidProblem; detail?: string }> {
  const rule = ctx.identityRule
  if (!rule) return { ok: true, identity: authzid }
  const found = await findLoginEntry(
    ctx.directory,
    ctx.mode,
    authzid,
    rule.attributes.length ? rule.attributes : ['1.1'],
  )
  if (found.kind === 'none')
    return { ok: false, reason: 'authzid_unknown', detail: 'no directory entry has it' }
  if (found.kind === 'ambiguous')
    return { ok: false, reason: 'authzid_unknown', detail: 'it names several directory entries' }
  const dns = ctx.mode === 'template' ? ctx.directory.userDns(loginParts(authzid)) : []
  const template = ctx.mode === 'template' ? dns.findIndex((dn) => dnEqual(dn, found.entry.dn)) : undefined
  if (template === -1)
    return {
      ok: false,
      reason: 'authzid_unknown',
      detail: `its entry ${found.entry.dn} is not a dn_template DN`,
    }
  const id = sessionIdentity(rule, authzid, { entry: found.entry, template })
  if (id.ok) return id
  return {
    ok: false,
    reason: id.reason === 'ignored_login_text' ? 'ignored_authzid_text' : 'authzid_unknown',
    detail: id.detail,
  }
}
