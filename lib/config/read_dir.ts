// A plugin's ini file read from config folders without Haraka, as the plugins
// read it: each value as the text written (parseIniText), and the folders merged
// as haraka-config merges a plugin's defaults and the instance's config/, key by
// key, the later folder winning. haraka/load_config reads the folders
// haraka-config resolved through it; bin/ tools read a config/ folder with it.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { mergeRawIni, parseIniText, type IniFile, type Parsed, type RawIni } from './schema'

export interface ReadOptions {
  /** when no folder has the file, throw (its ENOENT) instead of reading it as empty, as haraka-config does */
  required?: boolean
}

/** `file` in each of `dirs` that has it (defaults first, overrides last), merged; any other read error throws. */
export function readIni(dirs: readonly string[], file: string, opts: ReadOptions = {}): RawIni {
  const texts: RawIni[] = []
  let missing: unknown
  for (const p of new Set(dirs.map((d) => path.resolve(d, file)))) {
    try {
      texts.push(parseIniText(readFileSync(p, 'utf8')))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      missing = err
    }
  }
  if (!texts.length && opts.required && missing) throw missing
  return mergeRawIni(...texts)
}

/** readIni, then the file's parser (LDAP_AUTH_INI, authStampIni(...), ...): its configuration, or why not. */
export function readConfig<T>(dirs: readonly string[], ini: IniFile<T>, opts: ReadOptions = {}): Parsed<T> {
  return ini.parse(readIni(dirs, ini.name, opts))
}
