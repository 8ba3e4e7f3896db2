// ldap_auth's ini files, each loaded at register and again when it changes
// (haraka-config's watch): ldap_auth.ini, ldap_directory.ini (the directory's
// pools follow it) and auth_enc_file.ini; a new configuration gets a new cache.
import { credentialCacheFor } from '../../lib/authn/authenticator'
import { authWarnings, LDAP_AUTH_INI } from '../../lib/authn/config'
import { AUTH_ENC_FILE_INI } from '../../lib/authn/local_users'
import { loadDirectoryConfig } from '../../haraka/directory_config'
import { loadValidated } from '../../haraka/load_config'
import { countCacheLookup } from '../../haraka/metrics'
import { warnAboutBudget, type AttemptPlugin } from './attempt'
import { applyAuditSetting } from './outcome'

export interface LoadingPlugin extends AttemptPlugin {
  load_ldap_auth_ini(): void
  load_ldap_directory_ini(): void
  load_auth_enc_file_ini(): void
}

export function load_ldap_auth_ini(this: LoadingPlugin): void {
  const previous = this.cfg
  this.cfg = loadValidated(this, LDAP_AUTH_INI, () => this.load_ldap_auth_ini(), this.cfg)
  if (this.cfg === previous) return
  renewCache(this)
  applyAuditSetting(this.cfg)
  for (const w of authWarnings(this.cfg)) this.logwarn(`ldap_auth.ini: ${w}`)
  warnAboutBudget(this)
}

export function load_ldap_directory_ini(this: LoadingPlugin): void {
  const previous = this.dirCfg
  this.dirCfg = loadDirectoryConfig(this, this.directory, this.dirCfg, () => this.load_ldap_directory_ini())
  if (previous && this.dirCfg !== previous) renewCache(this)
  if (this.dirCfg !== previous) warnAboutBudget(this)
}

export function load_auth_enc_file_ini(this: LoadingPlugin): void {
  this.localUsers = loadValidated(
    this,
    AUTH_ENC_FILE_INI,
    () => this.load_auth_enc_file_ini(),
    this.localUsers,
  )
  if (this.cfg.local_users !== 'off')
    this.loginfo(
      `auth_enc_file.ini: ${this.localUsers.size} local user(s), local_users=${this.cfg.local_users}`,
    )
}

/**
 * In memory, per process: a new configuration starts with a new, empty cache. The
 * old one is retired, not merely cleared, because an AUTH still running on the old
 * directory holds it and would store its verdict there after the reload.
 */
function renewCache(plugin: LoadingPlugin): void {
  plugin.cache?.retire()
  plugin.cache = credentialCacheFor(plugin.cfg, countCacheLookup)
}
