// Load an ini through haraka-config, validate it, and keep the last good
// configuration when a hot reload brings a bad one.
import type { Plugin } from 'haraka'
import type { Parsed } from '../config/schema'

export function loadValidated<T>(
  plugin: Plugin,
  file: string,
  booleans: string[],
  parse: (raw: Record<string, any>) => Parsed<T>,
  onChange: () => void,
  previous: T | undefined,
): T {
  const raw = plugin.config.get(file, { booleans }, onChange) as Record<string, any>
  const parsed = parse(raw ?? {})
  if (parsed.ok) return parsed.cfg
  const detail = parsed.errors.join('; ')
  // At startup a bad value stops Haraka with this message; on reload the old config stays.
  if (previous === undefined) throw new Error(`config/${file} is invalid: ${detail}`)
  plugin.logerror(`config/${file} is invalid, keeping the previous configuration: ${detail}`)
  return previous
}
