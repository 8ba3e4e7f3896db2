// Load an ini through haraka-config, validate it, and keep the last good
// configuration when a hot reload brings a bad one.
import type { Config, Plugin } from 'haraka'
import { readIni } from '../lib/config/read_dir'
import type { IniFile, Parsed, RawIni } from '../lib/config/schema'

/**
 * haraka-config reads the file (it resolves the plugin's defaults and the
 * instance's overrides, and watches both for the reload callback), but its
 * values are typed by guesswork: `bind_password=007123` becomes 7123 and a
 * declared boolean `check_ppolicy_lock=ture` becomes false. So the same files
 * are read again as text (lib/config/read_dir: same syntax, same merge order) and
 * the schema parses that: a secret stays exact and a typo is an error naming
 * the key. `booleans` still goes to haraka-config, which keeps its cache key.
 *
 * startup: from register(); an invalid file throws, which stops Haraka with the message.
 * reload: from haraka-config's watch callback, where a throw would be an uncaught
 * exception: an invalid file is logged and `previous` is kept (undefined when no
 * valid configuration was ever loaded, e.g. a file first needed after a reload).
 */
export type LoadPhase = 'startup' | 'reload'

export function loadValidated<T, P extends T | undefined>(
  plugin: Plugin,
  ini: IniFile<T>,
  onChange: () => void,
  previous: P,
  /** default: startup when there is no previous configuration */
  phase?: LoadPhase,
): T | P {
  const file = ini.name
  const typed = plugin.config.get(file, { booleans: [...ini.booleans] }, onChange) as Record<string, any>
  let parsed: Parsed<T>
  try {
    parsed = ini.parse(readAsText(plugin.config, file) ?? typed ?? {})
  } catch (err) {
    parsed = { ok: false, errors: [`cannot read it: ${(err as Error).message}`] }
  }
  if (parsed.ok) return parsed.cfg
  const detail = parsed.errors.join('; ')
  if ((phase ?? (previous === undefined ? 'startup' : 'reload')) === 'startup')
    throw new Error(`config/${file} is invalid: ${detail}`)
  if (previous === undefined) plugin.logerror(`config/${file} is invalid: ${detail}`)
  else plugin.logerror(`config/${file} is invalid, keeping the previous configuration: ${detail}`)
  return previous
}

/**
 * The files haraka-config merged for `file` (defaults in `root_path`, then
 * `overrides_path`), as text. Undefined when `config` is not haraka-config's
 * (a test double without paths): its typed values are then used as they are.
 */
function readAsText(config: Config, file: string): RawIni | undefined {
  const { root_path: root, overrides_path: overrides } = config as Config & {
    root_path?: string
    overrides_path?: string
  }
  if (typeof root !== 'string') return undefined
  return readIni(
    [root, overrides].filter((d): d is string => typeof d === 'string'),
    file,
  )
}
