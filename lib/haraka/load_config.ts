// Load an ini through haraka-config, validate it, and keep the last good
// configuration when a hot reload brings a bad one.
import type { Plugin } from 'haraka'
import type { Parsed } from '../config/schema'

/**
 * startup: from register(); an invalid file throws, which stops Haraka with the message.
 * reload: from haraka-config's watch callback, where a throw would be an uncaught
 * exception: an invalid file is logged and `previous` is kept (undefined when no
 * valid configuration was ever loaded, e.g. a file first needed after a reload).
 */
export type LoadPhase = 'startup' | 'reload'

export function loadValidated<T, P extends T | undefined>(
  plugin: Plugin,
  file: string,
  booleans: string[],
  parse: (raw: Record<string, any>) => Parsed<T>,
  onChange: () => void,
  previous: P,
  /** default: startup when there is no previous configuration */
  phase?: LoadPhase,
): T | P {
  const raw = plugin.config.get(file, { booleans }, onChange) as Record<string, any>
  const parsed = parse(raw ?? {})
  if (parsed.ok) return parsed.cfg
  const detail = parsed.errors.join('; ')
  if ((phase ?? (previous === undefined ? 'startup' : 'reload')) === 'startup') throw new Error(`config/${file} is invalid: ${detail}`)
  if (previous === undefined) plugin.logerror(`config/${file} is invalid: ${detail}`)
  else plugin.logerror(`config/${file} is invalid, keeping the previous configuration: ${detail}`)
  return previous
}
