// The identity header's value: the login, or with identity_value=address the
// login's primary address from the directory. A directory that is down, slow
// or has no address for the login never blocks or loses the message: the
// login is stamped instead and the reason is returned for the results store.
import type { Decision } from '../decisions'
import { withDeadline } from '../deadline'
import type { Directory } from '../ldap/types'
import type { DirectoryHandle } from '../ldap/handle'
import type { StampConfig } from './config'
import { primaryAddress } from './primary'
import { stampDecision } from './results'

export interface IdentityValue {
  value: string
  /** address(primary), or why the login was stamped (with identity_value=address only) */
  decision?: Decision<'address'>
  /** why the login was used instead of an address, for the log */
  fallback?: string
}

/**
 * The value for `login` under `cfg`: the login itself, or its primary address read through
 * `directory` within `budgetMs` (undefined directory: ldap_directory.ini is not usable).
 */
export function identityFor(
  cfg: Pick<StampConfig, 'identity_value' | 'address_attribute'>,
  login: string,
  directory: { handle: DirectoryHandle; mode: string } | undefined,
  budgetMs: number,
): Promise<IdentityValue> {
  if (cfg.identity_value !== 'address') return Promise.resolve({ value: login })
  if (!directory) return Promise.resolve(identityWithoutDirectory(login))
  const { mode } = directory
  return directory.handle.use((d) =>
    identityValue(d, { mode, login, attribute: cfg.address_attribute, budgetMs }),
  )
}

export async function identityValue(
  dir: Directory,
  opts: { mode: string; login: string; attribute: string; budgetMs: number },
): Promise<IdentityValue> {
  try {
    const lookup = primaryAddress(dir, opts.mode, opts.login, opts.attribute)
    const primary = await withDeadline(lookup, opts.budgetMs, `no answer within ${opts.budgetMs} ms`)
    if (primary.kind === 'found')
      return { value: primary.address, decision: stampDecision('address', 'pass', 'primary') }
    return {
      value: opts.login,
      decision: stampDecision('address', 'fail', primary.kind),
      fallback: `no primary ${opts.attribute} (${primary.kind})`,
    }
  } catch (err) {
    return {
      value: opts.login,
      decision: stampDecision('address', 'err', 'directory_unavailable'),
      fallback: `directory unavailable (${(err as Error).message})`,
    }
  }
}

/** identity_value=address while ldap_directory.ini is not usable (invalid since a reload): the login, recorded. */
function identityWithoutDirectory(login: string): IdentityValue {
  return {
    value: login,
    decision: stampDecision('address', 'err', 'directory_not_configured'),
    fallback: 'ldap_directory.ini is not usable',
  }
}
