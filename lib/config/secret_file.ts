// A secret kept in its own file (auth_metrics' password_file, auth_stamp's
// key_file): read at load, relative to the instance directory, with its
// permission bits kept for the warnings about who else may read it.
import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'

export interface SecretFile {
  /** the file as resolved against the base directory */
  path: string
  /** permission bits (mode & 0o777) */
  mode: number
  text: string
}

/** `file` under `baseDir`, or undefined with `[main] <option>: cannot read <path> (<code>)` added to `errors`. */
export function readSecretFile(
  option: string,
  file: string,
  baseDir: string,
  errors: string[],
): SecretFile | undefined {
  const full = path.resolve(baseDir, file)
  try {
    const text = readFileSync(full, 'utf8')
    return { path: full, mode: statSync(full).mode & 0o777, text }
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    errors.push(`[main] ${option}: cannot read ${full} (${why})`)
    return undefined
  }
}
