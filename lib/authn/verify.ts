// One AUTH attempt from decoded credentials to a verdict, in named steps:
// the identities asked for (askedIdentities, where the login is normalised, once),
// then for the login and password the local file first (localFirst), the
// credential cache (cached), the directory (fromDirectory: the password, the
// session identity, the account state, remembered in the cache; on an outage a
// fallback or 454, whenDirectoryDown), then a proxy login's privilege and its
// authzid's identity (actAs). Imports nothing from Haraka; ldap_auth records the
// verdict (lib/authn/decide) and answers authReplyFor(outcome) (lib/replies).
import type { AuthOutcome } from '../replies'
import { authenticate, type PasswordReason } from './password'
import type { AuthConfig } from './config'
import { normaliseLogin, type LoginProblem } from './login'
import { checkAccountState, attributesFor, needsGroupEntryCheck, type AccountRefusal } from './account'
import type { LocalUsers } from './local_users'
import { DirectoryBusyError, DirectoryUnavailableError } from '../ldap/errors'
import type { AuthDirectory, DirectoryEntry } from '../ldap/types'
import type { CredentialCache } from './cache'
import { sessionIdentity, type IdentityProblem, type IdentityRule } from './identity'
import { authzidIdentity, proxyRefusal, type AuthzidProblem, type ProxyRefusal, type Source } from './proxy'

export type Outcome = AuthOutcome

/**
 * `authn(<reason>)`: the password, and what decided it. The last two end an attempt
 * that never came back from here: the hook's deadline passed, or a bug (lib/authn/decide).
 */
export type AuthnReason =
  | LoginProblem
  | PasswordReason
  | 'cache_ok'
  | 'cache_ok_directory_down'
  | 'local_ok'
  | 'local_ok_directory_down'
  | 'directory_busy'
  | 'directory_unavailable'
  | 'timeout'
  | 'internal_error'

/** `authz(<reason>)`: the account and identities after a right password; `proxy`: acting as the authzid. */
export type AuthzReason =
  AccountRefusal | IdentityProblem | ProxyRefusal | AuthzidProblem | 'invalid_authzid' | 'proxy'

/** A verdict's results label: credentials (authn), or identity and account state (authz). */
export type VerdictLabel = { rule: 'authn'; reason: AuthnReason } | { rule: 'authz'; reason: AuthzReason }

export type Verdict = VerdictLabel & {
  outcome: Outcome
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
  /** the URL of the directory server that answered (absent when the cache or the local file did) */
  server?: string
  /**
   * on OK from a search mode lookup (or the cache of one): the login's entry and the
   * attributes it was read with, for the checks after AUTH (lib/ldap/login_entry KnownLoginEntry)
   */
  found?: FoundEntry
}

/** A login's entry as the user search read it, and the attributes asked for (lower-cased). */
export interface FoundEntry {
  entry: DirectoryEntry
  read: readonly string[]
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
  /**
   * Search mode: attributes the checks after AUTH will read from the login's entry
   * (auth_relay's sender_attributes), read in the same user search so that they need
   * not search again (the verdict's `found`).
   */
  sessionAttributes?: readonly string[]
}

export interface Attempt {
  authcid: string
  authzid: string
  password: string
}

/** A verdict on the login's password, with where it came from (for the proxy check). */
type LoginVerdict = Verdict & { source?: Source }

/** One login and password, and the sources this configuration lets decide it. */
interface LoginAttempt {
  ctx: VerifyContext
  login: string
  password: string
  /** the local credentials file, unless local_users=off */
  local?: LocalUsers
  /** the credential cache, unless it is off or the attempt is a proxy's */
  cache?: CredentialCache
}

export async function verifyCredentials(ctx: VerifyContext, attempt: Attempt): Promise<Verdict> {
  const asked = askedIdentities(ctx, attempt)
  if (!asked.ok) return asked.verdict
  const { login, authzid } = asked
  const { source, ...verdict } = await verifyLogin({
    ctx,
    login,
    password: attempt.password,
    local: ctx.cfg.local_users !== 'off' ? ctx.localUsers : undefined,
    // A proxy privilege belongs to one directory entry (proxyRefusal), and a cached password
    // says nothing about which entry it bound to: such attempts never use the cache.
    cache: ctx.cache?.enabled && authzid === undefined ? ctx.cache : undefined,
  })
  if (verdict.outcome !== 'OK' || authzid === undefined) return verdict
  return actAs(ctx, verdict, source, authzid)
}

/** The login in its normal form and the authzid it asks to act as (a proxy login's), or the refusal. */
function askedIdentities(
  ctx: VerifyContext,
  attempt: Attempt,
): { ok: true; login: string; authzid?: string } | { ok: false; verdict: Verdict } {
  const norm = normaliseLogin(attempt.authcid)
  if (!norm.ok)
    return { ok: false, verdict: { outcome: 'INVALID_LOGIN', rule: 'authn', reason: norm.reason } }
  const login = norm.login
  const refuse = (reason: AuthzReason) => ({
    ok: false as const,
    verdict: { outcome: 'AUTHZID_REFUSED' as const, rule: 'authz' as const, reason, login },
  })
  // RFC 4616 authzid: acting as someone else only for listed proxy logins. The same login
  // in another case asks for nothing: the session is the login's own identity.
  let authzid: string | undefined
  if (attempt.authzid) {
    const z = normaliseLogin(attempt.authzid)
    if (!z.ok) return refuse('invalid_authzid')
    if (z.login.toLowerCase() !== login.toLowerCase()) {
      if (!ctx.cfg.proxyLoginList.length) return refuse('authzid_not_permitted')
      authzid = z.login
    }
  }
  // An empty password would be an anonymous bind (RFC 4513 §5.1.2): never sent anywhere.
  if (attempt.password.length === 0)
    return {
      ok: false,
      verdict: { outcome: 'EMPTY_PASSWORD', rule: 'authn', reason: 'empty_password', login },
    }
  return { ok: true, login, authzid }
}

/** The login and password alone; on OK its identity. */
async function verifyLogin(a: LoginAttempt): Promise<LoginVerdict> {
  return localFirst(a) ?? cached(a) ?? (await fromDirectory(a))
}

/** local_users=first: a login the file lists is decided by the file alone. */
function localFirst(a: LoginAttempt): LoginVerdict | undefined {
  if (a.local && a.ctx.cfg.local_users === 'first' && a.local.has(a.login))
    return fromFile(a, a.local, 'local_ok')
  return undefined
}

/** A password the directory accepted, or refused, within the cache's ttl. */
function cached(a: LoginAttempt): LoginVerdict | undefined {
  const found = a.cache?.lookup(a.login, a.password)
  if (found?.kind === 'hit') {
    const v = accepted(a, 'cache_ok', a.cache!.identityOf(a.login) ?? a.login)
    const entry = a.cache!.foundOf(a.login)
    return entry ? { ...v, found: entry } : v
  }
  if (found?.kind !== 'negative') return undefined
  // Stored by remember() as `rule/reason`.
  const [rule, reason] = found.reason.split('/')
  const label = { rule, reason } as VerdictLabel
  const outcome = label.rule === 'authz' ? 'ACCOUNT_REFUSED' : 'PASSWORD_MISMATCH'
  return { outcome, ...label, detail: 'negative cache', login: a.login }
}

/** The directory decides: the password, then the session identity and the account state. */
async function fromDirectory(a: LoginAttempt): Promise<LoginVerdict> {
  const { ctx, login } = a
  try {
    const attributes = attributesFor(ctx.cfg.account)
    // The identity's attributes are read with the entry, as the account state is.
    const session = ctx.mode === 'search' ? (ctx.sessionAttributes ?? []) : []
    const wanted = [...new Set([...attributes, ...(ctx.identityRule?.attributes ?? []), ...session])]
    const asService = ctx.mode === 'template' && ctx.readStateAsService === true && attributes.length > 0
    const policy = ctx.cfg.account
    // Search mode: the required group's entry is asked alongside the bind (lib/authn/password).
    const groupCheck =
      ctx.mode === 'search' && needsGroupEntryCheck(policy)
        ? (dn: string) => ctx.directory.isMember(policy.requireGroup, dn, policy.groupMemberAttributes)
        : undefined
    const r = await authenticate(ctx.directory, ctx.mode, login, a.password, {
      attributes: asService ? [] : wanted,
      groupCheck,
    })
    if (r.outcome === 'USER_UNKNOWN' && a.local && ctx.cfg.local_users === 'last')
      return fromFile(a, a.local, 'local_ok')
    const server = r.server === undefined ? {} : { server: r.server }
    if (r.outcome !== 'OK')
      return remember(a, { outcome: r.outcome, rule: 'authn', reason: r.reason, login, ...server })
    const entry = asService ? await ctx.directory.readEntry(r.dn!, wanted) : (r.entry ?? null)
    const verdict = await mayLogIn(a, r.dn!, entry, r.template, r.inGroup)
    // The entry as the user search read it (search mode): what auth_relay would search for again.
    const found: FoundEntry | undefined =
      ctx.mode === 'search' && entry && verdict.outcome === 'OK'
        ? { entry, read: wanted.map((w) => w.toLowerCase()) }
        : undefined
    return remember(a, { ...verdict, ...server, ...(found ? { found } : {}) })
  } catch (err) {
    return whenDirectoryDown(a, err)
  }
}

/** After the right password: the identity the entry gives the session, and the account state. */
async function mayLogIn(
  a: LoginAttempt,
  dn: string,
  entry: DirectoryEntry | null,
  template: number | undefined,
  /** the group check's answer when it ran alongside the bind */
  inGroup: Promise<boolean> | undefined,
): Promise<LoginVerdict> {
  const refused = (reason: AuthzReason, detail?: string): LoginVerdict => ({
    outcome: 'ACCOUNT_REFUSED',
    rule: 'authz',
    reason,
    detail,
    login: a.login,
  })
  const id = sessionIdentity(a.ctx.identityRule, a.login, { entry, template })
  if (!id.ok) return refused(id.reason, id.detail)
  const policy = a.ctx.cfg.account
  const state = checkAccountState(entry, policy)
  if (!state.ok) return refused(state.reason)
  if (
    needsGroupEntryCheck(policy) &&
    !(await (inGroup ?? a.ctx.directory.isMember(policy.requireGroup, dn, policy.groupMemberAttributes)))
  )
    return refused('not_in_required_group')
  return accepted(a, 'bind_ok', id.identity, { dn })
}

/** The directory's verdict, kept in the cache for its ttl. */
function remember(a: LoginAttempt, verdict: LoginVerdict): LoginVerdict {
  const { cache, login, password } = a
  if (verdict.outcome === 'OK') cache?.storePositive(login, password, verdict.identity, verdict.found)
  // An account state that could not be read or parsed, or an entry whose identity could not be
  // told, says nothing lasting about this password: never refuse it from the cache.
  else if (verdict.reason.startsWith('account_state_') || verdict.reason === 'identity_unknown')
    cache?.forget(login, password)
  else if (verdict.outcome !== 'AMBIGUOUS')
    cache?.storeNegative(login, password, `${verdict.rule}/${verdict.reason}`)
  return verdict
}

/**
 * The directory could not answer: a fallback the operator allowed, else 454. Our pool
 * saturated while the directory is up is load, not an outage: still 454, but the
 * "directory down" fallbacks are not for it (they would bypass the directory under load).
 */
function whenDirectoryDown(a: LoginAttempt, err: unknown): LoginVerdict {
  const down = directoryDown(err, a.login)
  if (down.reason === 'directory_busy') return down
  if (a.ctx.cfg.cache_when_directory_down && a.cache?.lookupStale(a.login, a.password))
    return {
      ...accepted(a, 'cache_ok_directory_down', a.cache.identityOf(a.login) ?? a.login),
      detail: down.detail,
    }
  if (a.local && a.ctx.cfg.local_users_when_directory_down && a.local.has(a.login))
    return fromFile(a, a.local, 'local_ok_directory_down')
  return down
}

/** The 454 verdict for a directory outage, or a full pool; any other error is a bug, thrown on. */
function directoryDown(err: unknown, login: string): Verdict {
  if (!(err instanceof DirectoryUnavailableError)) throw err
  const reason = err instanceof DirectoryBusyError ? 'directory_busy' : 'directory_unavailable'
  return { outcome: 'DIRECTORY_DOWN', rule: 'authn', reason, detail: err.message, login }
}

/** The local credentials file decides (auth_enc_file.ini). */
function fromFile(
  a: LoginAttempt,
  local: LocalUsers,
  reason: 'local_ok' | 'local_ok_directory_down',
): LoginVerdict {
  const r = local.verify(a.login, a.password)
  // the identity is the login as the file writes it, as a directory user's is the entry's value
  if (r === 'OK') return accepted(a, reason, local.loginOf(a.login) ?? a.login, { local: true })
  if (r === 'MISMATCH')
    return {
      outcome: 'PASSWORD_MISMATCH',
      rule: 'authn',
      reason: 'invalid_credentials',
      detail: 'local user',
      login: a.login,
    }
  return {
    outcome: 'USER_UNKNOWN',
    rule: 'authn',
    reason: 'no_such_user',
    detail: 'not in the directory nor the local file',
    login: a.login,
  }
}

function accepted(a: LoginAttempt, reason: AuthnReason, identity: string, source?: Source): LoginVerdict {
  return { outcome: 'OK', rule: 'authn', reason, login: a.login, identity, user: identity, source }
}

/**
 * A proxy login acting as its authzid (lib/authn/proxy). Only the directory can grant
 * that: an outage here is 454, with no fallback.
 */
async function actAs(
  ctx: VerifyContext,
  verdict: Verdict,
  source: Source | undefined,
  authzid: string,
): Promise<Verdict> {
  const login = verdict.login!
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
    return directoryDown(err, login)
  }
}

declare module '../decisions' {
  interface Reasons {
    authn: AuthnReason
    authz: AuthzReason
  }
}
