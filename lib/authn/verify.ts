// One AUTH attempt from decoded credentials to a verdict: authorization
// identity, local credentials file, credential cache, directory bind, the
// session identity (lib/authn/identity), the account-state checks, then a proxy
// login's privilege and its authzid's identity. Imports nothing from Haraka; the
// hook maps the verdict to a reply (only OK is 235, only DIRECTORY_DOWN is 454,
// all else 535).
import { authenticate, type AuthnOutcome } from './password'
import type { AuthConfig } from './config'
import { normaliseLogin } from './login'
import { checkAccountState, attributesFor, needsGroupEntryCheck } from './account'
import type { LocalUsers } from './local_users'
import { DirectoryBusyError, DirectoryUnavailableError } from '../ldap/errors'
import type { AuthDirectory, DirectoryEntry, Lookup } from '../ldap/types'
import { dnEqual } from '../ldap/dn'
import { findLoginEntry } from '../ldap/login_entry'
import { loginParts } from '../ldap/template'
import type { CredentialCache } from './cache'
import { sessionIdentity, type IdentityRule } from './identity'

export type Outcome = AuthnOutcome | 'ACCOUNT_REFUSED' | 'AUTHZID_REFUSED'

export interface Verdict {
  outcome: Outcome
  /** results label rule: authn (credentials) or authz (identity or account state) */
  rule: 'authn' | 'authz'
  /** results label reason, e.g. bind_ok, cache_ok, invalid_credentials, ad_account_disabled */
  reason: string
  /** extra words for the log line only (never a password) */
  detail?: string
  /** the normalised login (authentication identity), as the client wrote it */
  login?: string
  /** on OK: the login's identity, the part of it the directory matched (lib/authn/identity) */
  identity?: string
  /** on OK: the identity the session acts as (notes.auth_user): `identity`, or a proxy login's authzid's */
  user?: string
  /** on OK: true when the session acts as a PLAIN authzid other than the login (proxy_logins) */
  proxy?: boolean
}

export interface VerifyContext {
  directory: AuthDirectory
  mode: 'search' | 'template'
  cfg: Pick<
    AuthConfig,
    | 'account'
    | 'proxyLogins'
    | 'proxyLoginList'
    | 'local_users'
    | 'local_users_when_directory_down'
    | 'cache_when_directory_down'
  >
  /**
   * How the directory's user_filter / dn_templates compare a login (identityRuleFor of
   * ldap_directory.ini): the session identity is the part it matched. ldap_auth always
   * passes it; without it (tests of the directory layer alone) the login is the identity.
   */
  identityRule?: IdentityRule
  cache?: CredentialCache
  localUsers?: LocalUsers
  /**
   * Template mode with a service account (bind_dn): read the account-state attributes
   * as the service account instead of with the user's own rights, so an ACL that hides
   * them from the user cannot make a check pass.
   */
  readStateAsService?: boolean
}

export interface Attempt {
  authcid: string
  authzid: string
  password: string
}

/** A verdict on the login's password, with where it came from (for the proxy check). */
type LoginVerdict = Verdict & { source?: { local: true } | { dn: string } }

export async function verifyCredentials(ctx: VerifyContext, attempt: Attempt): Promise<Verdict> {
  const norm = normaliseLogin(attempt.authcid)
  if (!norm.ok) return { outcome: 'INVALID_LOGIN', rule: 'authn', reason: norm.reason }
  const login = norm.login

  // RFC 4616 authzid: acting as someone else only for listed proxy logins. The same login
  // in another case asks for nothing: the session is the login's own identity.
  let authzid: string | undefined
  if (attempt.authzid) {
    const z = normaliseLogin(attempt.authzid)
    if (!z.ok) return { outcome: 'AUTHZID_REFUSED', rule: 'authz', reason: 'invalid_authzid', login }
    if (z.login.toLowerCase() !== login.toLowerCase()) {
      if (!ctx.cfg.proxyLoginList.length)
        return { outcome: 'AUTHZID_REFUSED', rule: 'authz', reason: 'authzid_not_permitted', login }
      authzid = z.login
    }
  }
  // An empty password would be an anonymous bind (RFC 4513 §5.1.2): never sent anywhere.
  if (attempt.password.length === 0)
    return { outcome: 'EMPTY_PASSWORD', rule: 'authn', reason: 'empty_password', login }

  const { source, ...verdict } = await verifyLogin(ctx, login, attempt.password, authzid !== undefined)
  if (verdict.outcome !== 'OK' || authzid === undefined) return verdict
  try {
    const refusal = await proxyRefusal(ctx, login, source)
    if (refusal) return { outcome: 'AUTHZID_REFUSED', rule: 'authz', login, ...refusal }
    const target = await authzidIdentity(ctx, authzid)
    if (!target.ok)
      return {
        outcome: 'AUTHZID_REFUSED',
        rule: 'authz',
        login,
        reason: target.reason,
        detail: target.detail,
      }
    return { ...verdict, user: target.identity, proxy: true }
  } catch (err) {
    if (!(err instanceof DirectoryUnavailableError)) throw err
    const reason = err instanceof DirectoryBusyError ? 'directory_busy' : 'directory_unavailable'
    return { outcome: 'DIRECTORY_DOWN', rule: 'authn', reason, detail: err.message, login }
  }
}

/** The login and password alone: local file, cache, directory bind, account state; on OK its identity. */
async function verifyLogin(
  ctx: VerifyContext,
  login: string,
  password: string,
  proxy: boolean,
): Promise<LoginVerdict> {
  const done = (v: Omit<Verdict, 'login'>): Verdict => ({ ...v, login })
  const ok = (reason: string, identity: string, source?: LoginVerdict['source']): LoginVerdict => ({
    ...done({ outcome: 'OK', rule: 'authn', reason, identity, user: identity }),
    source,
  })
  const local = ctx.cfg.local_users !== 'off' ? ctx.localUsers : undefined
  const fromFile = (why: string): LoginVerdict => {
    const r = local!.verify(login, password)
    if (r === 'OK') return ok(why, login, { local: true })
    if (r === 'MISMATCH')
      return done({
        outcome: 'PASSWORD_MISMATCH',
        rule: 'authn',
        reason: 'invalid_credentials',
        detail: 'local user',
      })
    return done({
      outcome: 'USER_UNKNOWN',
      rule: 'authn',
      reason: 'no_such_user',
      detail: 'not in the directory nor the local file',
    })
  }
  if (local && ctx.cfg.local_users === 'first' && local.has(login)) return fromFile('local_ok')

  // A proxy privilege belongs to one directory entry (proxyRefusal), and a cached password
  // says nothing about which entry it bound to: such attempts never use the cache.
  const cache = ctx.cache?.enabled && !proxy ? ctx.cache : undefined
  const cached = cache?.lookup(login, password)
  if (cached?.kind === 'hit') return ok('cache_ok', cache!.identityOf(login) ?? login)
  if (cached?.kind === 'negative') {
    const [rule, reason] = cached.reason.split('/') as ['authn' | 'authz', string]
    return done({
      outcome: rule === 'authz' ? 'ACCOUNT_REFUSED' : 'PASSWORD_MISMATCH',
      rule,
      reason,
      detail: 'negative cache',
    })
  }

  const policy = ctx.cfg.account
  let verdict: LoginVerdict
  try {
    const attributes = attributesFor(policy)
    // The identity's attributes are read with the entry, as the account state is.
    const wanted = [...new Set([...attributes, ...(ctx.identityRule?.attributes ?? [])])]
    const asService = ctx.mode === 'template' && ctx.readStateAsService === true && attributes.length > 0
    const r = await authenticate(ctx.directory, ctx.mode, login, password, {
      attributes: asService ? [] : wanted,
    })
    if (r.outcome === 'DIRECTORY_DOWN')
      throw r.error ?? new DirectoryUnavailableError(r.reason.replace(/^directory_unavailable: /, ''))
    if (r.outcome === 'OK') {
      const entry = asService ? await ctx.directory.readEntry(r.dn!, wanted) : (r.entry ?? null)
      const id = sessionIdentity(ctx.identityRule, login, { entry, template: r.template })
      const refusal = id.ok ? await accountRefusal(ctx, r.dn!, entry) : undefined
      if (!id.ok)
        verdict = done({ outcome: 'ACCOUNT_REFUSED', rule: 'authz', reason: id.reason, detail: id.detail })
      else if (refusal) verdict = done({ outcome: 'ACCOUNT_REFUSED', rule: 'authz', reason: refusal })
      else verdict = ok('bind_ok', id.identity, { dn: r.dn! })
    } else if (r.outcome === 'USER_UNKNOWN' && local && ctx.cfg.local_users === 'last') {
      return fromFile('local_ok')
    } else {
      verdict = done({ outcome: r.outcome, rule: 'authn', reason: r.reason })
    }
  } catch (err) {
    if (!(err instanceof DirectoryUnavailableError)) throw err
    // Our pool is saturated while the directory is up: load, not an outage. Still 454, but the
    // "directory down" fallbacks are not for this (they would bypass the directory under load).
    if (err instanceof DirectoryBusyError)
      return done({ outcome: 'DIRECTORY_DOWN', rule: 'authn', reason: 'directory_busy', detail: err.message })
    if (ctx.cfg.cache_when_directory_down && cache?.lookupStale(login, password)) {
      return { ...ok('cache_ok_directory_down', cache.identityOf(login) ?? login), detail: err.message }
    }
    if (local && ctx.cfg.local_users_when_directory_down && local.has(login))
      return fromFile('local_ok_directory_down')
    return done({
      outcome: 'DIRECTORY_DOWN',
      rule: 'authn',
      reason: 'directory_unavailable',
      detail: err.message,
    })
  }

  if (verdict.outcome === 'OK') cache?.storePositive(login, password, verdict.identity)
  // An account state that could not be read or parsed, or an entry whose identity could not be
  // told, says nothing lasting about this password: never refuse it from the cache.
  else if (verdict.reason.startsWith('account_state_') || verdict.reason === 'identity_unknown')
    cache?.forget(login, password)
  else if (verdict.outcome !== 'AMBIGUOUS')
    cache?.storeNegative(login, password, `${verdict.rule}/${verdict.reason}`)
  return verdict
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
async function proxyRefusal(
  ctx: VerifyContext,
  login: string,
  source: LoginVerdict['source'],
): Promise<{ reason: string; detail?: string } | undefined> {
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
async function authzidIdentity(
  ctx: VerifyContext,
  authzid: string,
): Promise<{ ok: true; identity: string } | { ok: false; reason: string; detail?: string }> {
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

/** The account-state refusal for an authenticated entry, or undefined when it may log in. */
async function accountRefusal(
  ctx: VerifyContext,
  dn: string,
  entry: DirectoryEntry | null,
): Promise<string | undefined> {
  const policy = ctx.cfg.account
  const state = checkAccountState(entry, policy)
  if (!state.ok) return state.reason
  if (
    needsGroupEntryCheck(policy) &&
    !(await ctx.directory.isMember(policy.requireGroup, dn, policy.groupMemberAttributes))
  ) {
    return 'not_in_required_group'
  }
  return undefined
}
