// The auth_stamp plugin object as its hooks see it: Haraka's Plugin and our state.
import type { Plugin } from 'haraka'
import type { LoadPhase } from '../../haraka/load_config'
import type { DirectoryConfig } from '../../lib/ldap/config'
import type { DirectoryHandle } from '../../lib/ldap/handle'
import type { StampConfig } from '../../lib/stamp/config'

export interface AuthStamp extends Plugin {
  cfg: StampConfig
  /** ldap_directory.ini, while identity_value=address needs it and it is usable */
  dirCfg: DirectoryConfig | undefined
  directory: DirectoryHandle
  load_auth_stamp_ini(phase: LoadPhase): void
  load_ldap_directory_ini(phase: LoadPhase): void
}
