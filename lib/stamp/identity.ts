// The identity header's value: the login, or with identity_value=address the
// login's primary address from the directory. A directory that is down, slow
// or has no address for the login never blocks or loses the message: the
// login is stamped instead and the reason is returned for the results store.
import type { Directory } from '../ldap/types'
import { primaryAddress } from './primary'

export interface IdentityValue {
  value: string
  /** results label: pass address(primary), fail address(no_entry|no_address), err address(directory_unavailable|directory_not_configured) */
  label?: { pass: string } | { fail: string } | { err: string }
  /** why the login was used instead of an address, for the log */
  fallback?: string
}

export async function identityValue(
  dir: Directory,
  opts: { mode: string; login: string; attribute: string; budgetMs: number },
): Promise<IdentityValue> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${opts.budgetMs} ms`)), opts.budgetMs)
  })
  try {
    const primary = await Promise.race([primaryAddress(dir, opts.mode, opts.login, opts.attribute), deadline])
    if (primary.kind === 'found') return { value: primary.address, label: { pass: 'address(primary)' } }
    return {
      value: opts.login,
      label: { fail: `address(${primary.kind})` },
      fallback: `no primary ${opts.attribute} (${primary.kind})`,
    }
  } catch (err) {
    return {
      value: opts.login,
      label: { err: 'address(directory_unavailable)' },
      fallback: `directory unavailable (${(err as Error).message})`,
    }
  } finally {
    clearTimeout(timer)
  }
}

/** identity_value=address while ldap_directory.ini is not usable (invalid since a reload): the login, recorded. */
export function identityWithoutDirectory(login: string): IdentityValue {
  return {
    value: login,
    label: { err: 'address(directory_not_configured)' },
    fallback: 'ldap_directory.ini is not usable',
  }
}
