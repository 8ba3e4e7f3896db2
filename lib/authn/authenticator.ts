// The one wiring of the AUTH verifier (lib/authn/verify): the directory's settings
// (ldap_directory.ini), the AUTH settings (ldap_auth.ini), the local credentials
// file and the credential cache, put together for ldap_auth, the bench and any tool.
// Each attempt runs through the DirectoryHandle's use(), so a reload meanwhile
// closes the old pools only after it.
import { CredentialCache, type CacheLookupOutcome } from './cache'
import type { AuthConfig } from './config'
import { identityRuleFor } from './identity'
import type { LocalUsers } from './local_users'
import { verifyCredentials, type Attempt, type Verdict } from './verify'
import type { DirectoryConfig } from '../ldap/config'
import { DirectoryHandle } from '../ldap/handle'

export interface AuthenticatorSetup {
  /** ldap_directory.ini: its mode, the identity rule of user_filter / dn_templates, bind_dn */
  directory: DirectoryConfig
  /** ldap_auth.ini */
  auth: AuthConfig
  /** auth_enc_file.ini, consulted as auth.local_users says */
  localUsers?: LocalUsers
  /** default: a new cache as ldap_auth.ini sets it (credentialCacheFor) */
  cache?: CredentialCache
  /** the directory's pools when the caller holds them (ldap_auth swaps them on reload); else opened here */
  handle?: DirectoryHandle
  /** search mode: attributes to read with the login's entry for the checks after AUTH (lib/authn/verify) */
  sessionAttributes?: readonly string[]
}

export interface Authenticator {
  verify(attempt: Attempt): Promise<Verdict>
  /** Close what it opened itself: the directory pools and the cache that were not given. */
  close(): Promise<void>
}

export function createAuthenticator(setup: AuthenticatorSetup): Authenticator {
  const { directory: dirCfg, auth } = setup
  const handle = setup.handle ?? openHandle(dirCfg)
  const cache = setup.cache ?? credentialCacheFor(auth)
  const ctx = {
    mode: dirCfg.mode as 'search' | 'template',
    identityRule: identityRuleFor(dirCfg),
    cfg: auth,
    cache,
    localUsers: setup.localUsers,
    readStateAsService: Boolean(dirCfg.bind_dn),
    sessionAttributes: setup.sessionAttributes,
  }
  return {
    verify: (attempt) => handle.use((directory) => verifyCredentials({ ...ctx, directory }, attempt)),
    async close() {
      if (!setup.cache) cache.retire()
      if (!setup.handle) await handle.close()
    },
  }
}

/** A new, empty credential cache as ldap_auth.ini sets it (stale entries kept only when allowed). */
export function credentialCacheFor(
  auth: AuthConfig,
  onLookup?: (outcome: CacheLookupOutcome) => void,
): CredentialCache {
  return new CredentialCache({
    ttlMs: auth.cache_ttl * 1000,
    negativeTtlMs: auth.negative_cache_ttl * 1000,
    staleMs: auth.cache_when_directory_down ? auth.cache_stale_ttl * 1000 : 0,
    maxEntries: auth.cache_size,
    ...(onLookup ? { onLookup } : {}),
  })
}

function openHandle(cfg: DirectoryConfig): DirectoryHandle {
  const handle = new DirectoryHandle()
  handle.update(cfg)
  return handle
}
