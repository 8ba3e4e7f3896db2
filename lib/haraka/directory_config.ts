// Both ldap_auth and auth_relay read config/ldap_directory.ini the same way:
// validate, swap the directory pools on change, warn about weakening options.
import type { Plugin } from 'haraka'
import { booleanKeys } from '../config/schema'
import { DIRECTORY_SPEC, describeDirectory, directoryWarnings, parseDirectoryConfig, type DirectoryConfig } from '../ldap/config'
import type { DirectoryHandle } from '../ldap/handle'
import { loadValidated } from './load_config'

export function loadDirectoryConfig(
  plugin: Plugin,
  handle: DirectoryHandle,
  previous: DirectoryConfig | undefined,
  onChange: () => void,
): DirectoryConfig {
  const cfg = loadValidated(plugin, 'ldap_directory.ini', booleanKeys('main', DIRECTORY_SPEC), parseDirectoryConfig, onChange, previous)
  if (cfg !== previous) {
    handle.update(cfg)
    plugin.loginfo(`directory: ${describeDirectory(cfg)}`)
    for (const w of directoryWarnings(cfg)) plugin.logwarn(`ldap_directory.ini: ${w}`)
  }
  return cfg
}
