// One AUTH attempt from decoded credentials to a verdict: authorization
// identity, local credentials file, credential cache, directory bind, then the
// account-state checks. Imports nothing from Haraka; the hook maps the verdict
// to a reply (only OK is 235, only DIRECTORY_DOWN is 454, all else 535).
import { authenticate, type AuthnOutcome } from '../auth/authenticate'
import type { AuthConfig } from '../auth/config'
import { normaliseLogin } from '../auth/login'
import { checkAccountState, attributesFor, needsGroupEntryCheck } from '../authz/account'
import type { LocalUsers } from '../credentials/file'
import { DirectoryBusyError, DirectoryUnavailableError, type AuthDirectory, type DirectoryEntry } from '../ldap/directory'
import { dnEqual } from '../ldap/dn'
import { findLoginEntry } from '../ldap/login_entry'
import type { CredentialCache } from './cache'

export type Outcome = AuthnOutcome | 'ACCOUNT_REFUSED' | 'AUTHZID_REFUSED'

export interface Verdict {
  outcome: Outcome
  /** results label rule: authn (credentials) or authz (identity or account state) */
  rule: 'authn' | 'authz'
  /** results label reason, e.g. bind_ok, cache_ok, invalid_credentials, ad_account_disabled */
  reason: string
  /** extra words for the log line only (never a password) */
  detail?: string
  /** the normalised login (authentication identity) */
  login?: string
  /** the identity the session acts as: the login, or the PLAIN authzid for a proxy login */
  user?: string
}

export interface VerifyContext {
  directory: AuthDirectory
  mode: 'search' | 'template'
  cfg: Pick<AuthConfig, 'account' | 'proxyLogins' | 'local_users' | 'local_users_when_directory_down' | 'cache_when_directory_down'>
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

export async function verifyCredentials(ctx: VerifyContext, attempt: Attempt): Promise<Verdict> {
  const norm = normaliseLogin(attempt.authcid)
  if (!norm.ok) return { outcome: 'INVALID_LOGIN', rule: 'authn', reason: norm.reason }
  const login = norm.login

  // RFC 4616 authzid: acting as someone else only for listed proxy logins.
  let user = login
  if (attempt.authzid) {
    const z = normaliseLogin(attempt.authzid)
    if (!z.ok) return { outcome: 'AUTHZID_REFUSED', rule: 'authz', reason: 'invalid_authzid', login }
    if (z.login.toLowerCase() !== login.toLowerCase()) {
      if (!ctx.cfg.proxyLogins.has(login.toLowerCase())) {
        return { outcome: 'AUTHZID_REFUSED', rule: 'authz', reason: 'authzid_not_permitted', login }
      }
      user = z.login
    }
  }
  // An empty password would be an anonymous bind (RFC 4513 §5.1.2): never sent anywhere.
  if (attempt.password.length === 0) return { outcome: 'EMPTY_PASSWORD', rule: 'authn', reason: 'empty_password', login }

  const done = (v: Omit<Verdict, 'login' | 'user'>): Verdict => ({ ...v, login, user })
  const local = ctx.cfg.local_users !== 'off' ? ctx.localUsers : undefined
  const fromFile = (why: string): Verdict => {
    const r = local!.verify(login, attempt.password)
    if (r === 'OK') return done({ outcome: 'OK', rule: 'authn', reason: why })
    if (r === 'MISMATCH') return done({ outcome: 'PASSWORD_MISMATCH', rule: 'authn', reason: 'invalid_credentials', detail: 'local user' })
    return done({ outcome: 'USER_UNKNOWN', rule: 'authn', reason: 'no_such_user', detail: 'not in the directory nor the local file' })
  }
  if (local && ctx.cfg.local_users === 'first' && local.has(login)) return fromFile('local_ok')

  // In template mode the password may bind to any template's DN, so a proxy privilege
  // granted to a login string holds only for the one entry that login names (below).
  // Such an attempt never uses the cache: a cached password says nothing about which
  // entry it bound to.
  const templateProxy = ctx.mode === 'template' && user !== login
  const cache = ctx.cache?.enabled && !templateProxy ? ctx.cache : undefined
  const cached = cache?.lookup(login, attempt.password)
  if (cached?.kind === 'hit') return done({ outcome: 'OK', rule: 'authn', reason: 'cache_ok' })
  if (cached?.kind === 'negative') {
    const [rule, reason] = cached.reason.split('/') as ['authn' | 'authz', string]
    return done({ outcome: rule === 'authz' ? 'ACCOUNT_REFUSED' : 'PASSWORD_MISMATCH', rule, reason, detail: 'negative cache' })
  }

  const policy = ctx.cfg.account
  let verdict: Verdict
  try {
    const attributes = attributesFor(policy)
    const asService = ctx.mode === 'template' && ctx.readStateAsService === true && attributes.length > 0
    const r = await authenticate(ctx.directory, ctx.mode, login, attempt.password, { attributes: asService ? [] : attributes })
    if (r.outcome === 'DIRECTORY_DOWN') throw r.error ?? new DirectoryUnavailableError(r.reason.replace(/^directory_unavailable: /, ''))
    if (r.outcome === 'OK') {
      const proxyRefusal = templateProxy ? await proxyEntryRefusal(ctx.directory, login, r.dn!) : undefined
      if (proxyRefusal) return done({ outcome: 'AUTHZID_REFUSED', rule: 'authz', reason: 'proxy_login_not_unique', detail: proxyRefusal })
      const entry = asService ? await ctx.directory.readEntry(r.dn!, attributes) : (r.entry ?? null)
      const refusal = await accountRefusal(ctx, r.dn!, entry)
      verdict = refusal
        ? done({ outcome: 'ACCOUNT_REFUSED', rule: 'authz', reason: refusal })
        : done({ outcome: 'OK', rule: 'authn', reason: 'bind_ok' })
    } else if (r.outcome === 'USER_UNKNOWN' && local && ctx.cfg.local_users === 'last') {
      return fromFile('local_ok')
    } else {
      verdict = done({ outcome: r.outcome, rule: 'authn', reason: r.reason })
    }
  } catch (err) {
    if (!(err instanceof DirectoryUnavailableError)) throw err
    // Our pool is saturated while the directory is up: load, not an outage. Still 454, but the
    // "directory down" fallbacks are not for this (they would bypass the directory under load).
    if (err instanceof DirectoryBusyError) return done({ outcome: 'DIRECTORY_DOWN', rule: 'authn', reason: 'directory_busy', detail: err.message })
    if (ctx.cfg.cache_when_directory_down && cache?.lookupStale(login, attempt.password)) {
      return done({ outcome: 'OK', rule: 'authn', reason: 'cache_ok_directory_down', detail: err.message })
    }
    if (local && ctx.cfg.local_users_when_directory_down && local.has(login)) return fromFile('local_ok_directory_down')
    return done({ outcome: 'DIRECTORY_DOWN', rule: 'authn', reason: 'directory_unavailable', detail: err.message })
  }

  if (verdict.outcome === 'OK') cache?.storePositive(login, attempt.password)
  // An account state that could not be read or parsed says nothing lasting about this
  // password: never refuse it from the cache (the positive entry, if any, goes).
  else if (verdict.reason.startsWith('account_state_')) cache?.forget(login, attempt.password)
  else if (verdict.outcome !== 'AMBIGUOUS') cache?.storeNegative(login, attempt.password, `${verdict.rule}/${verdict.reason}`)
  return verdict
}

/**
 * Template mode, a proxy login whose password bound as `boundDn`: the privilege is the
 * login's, so it holds only when the login names exactly one entry (findLoginEntry, as
 * auth_relay and auth_stamp read it: the one template DN that exists, read as bind_dn or
 * anonymously) and that entry is the one that bound. Returns why not, for the log.
 */
async function proxyEntryRefusal(dir: AuthDirectory, login: string, boundDn: string): Promise<string | undefined> {
  const owner = await findLoginEntry(dir, 'template', login, ['1.1'])
  if (owner.kind === 'ambiguous') return 'the login names entries under several dn_templates'
  if (owner.kind === 'none') return 'no entry for the login is readable by bind_dn (or anonymously)'
  if (!dnEqual(owner.entry.dn, boundDn)) return 'the password bound to another entry than the login names'
  return undefined
}

/** The account-state refusal for an authenticated entry, or undefined when it may log in. */
async function accountRefusal(ctx: VerifyContext, dn: string, entry: DirectoryEntry | null): Promise<string | undefined> {
  const policy = ctx.cfg.account
  const state = checkAccountState(entry, policy)
  if (!state.ok) return state.reason
  if (needsGroupEntryCheck(policy) && !(await ctx.directory.isMember(policy.requireGroup, dn, policy.groupMemberAttributes))) {
    return 'not_in_required_group'
  }
  return undefined
}
