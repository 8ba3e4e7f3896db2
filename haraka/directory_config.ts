// Every plugin that reads config/ldap_directory.ini does it the same way:
// validate, swap the directory pools on change, warn about weakening options.
import type { Plugin } from 'haraka'
import {
  describeDirectory,
  directoryWarnings,
  type DirectoryConfig,
  LDAP_DIRECTORY_INI,
} from '../lib/ldap/config'
import type { DirectoryHandle } from '../lib/ldap/handle'
import { loadValidated, type LoadPhase } from './load_config'

// haraka-config keeps one reload callback per file, the last one registered: with
// two plugins reading ldap_directory.ini, only the second would ever see an edit.
// So every plugin registers here, and the one callback given to haraka-config
// reloads them all (both plugins load this same module in the process).
const subscribers = new Map<string, () => void>()
const reloadAll = (): void => {
  for (const reload of [...subscribers.values()]) reload()
}

export function loadDirectoryConfig<P extends DirectoryConfig | undefined>(
  plugin: Plugin,
  handle: DirectoryHandle,
  previous: P,
  onChange: () => void,
  /** default: startup when there is no previous configuration (see loadValidated) */
  phase?: LoadPhase,
): DirectoryConfig | P {
  subscribers.set(plugin.name, onChange)
  const cfg = loadValidated(plugin, LDAP_DIRECTORY_INI, reloadAll, previous, phase)
  if (cfg !== undefined && cfg !== previous) {
    handle.update(cfg)
    plugin.loginfo(`directory: ${describeDirectory(cfg)}`)
    for (const w of directoryWarnings(cfg)) plugin.logwarn(`ldap_directory.ini: ${w}`)
  }
  return cfg
}
