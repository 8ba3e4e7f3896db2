// How long one AUTH attempt may take. Haraka answers a hook that has not called
// next() within the plugin's timeout (config/ldap_auth.timeout, else
// plugin_timeout, else 30 s) with "plugin timeout" (500 for an AUTH line), and
// a verdict arriving after that would answer a later command. So ldap_auth
// gives itself a deadline inside that timeout, answers 454 when it passes, and
// drops a late verdict. Pure arithmetic, and the warnings for configurations
// whose timeouts cannot fit.
import { hookDeadlineMs, pluginMarginMs } from '../deadline'
import type { AuthConfig } from './config'

export interface DirectoryTimeouts {
  servers: readonly string[]
  connect_timeout: number
  timeout: number
  starttls: boolean
  mode: string
  bind_dn: string
  dnTemplates: readonly unknown[]
}

/**
 * The longest one AUTH may wait on the directory when every step runs to its own
 * timeout once (no retry, no wait for a busy pool): opening connections (each
 * server in turn), the service bind, the search or each template bind, the
 * account-state read and the group check.
 */
export function directoryWorstCaseMs(dir: DirectoryTimeouts, auth: Pick<AuthConfig, 'account'>): number {
  const open = dir.servers.length * dir.connect_timeout * (dir.starttls ? 2 : 1)
  const op = dir.timeout
  const groupCheck = auth.account.requireGroup && auth.account.groupMembership === 'member' ? op : 0
  if (dir.mode === 'template') {
    const stateRead = dir.bind_dn ? open + 2 * op : op
    return dir.dnTemplates.length * (open + op) + stateRead + groupCheck
  }
  // service connection (open + bind) and search, then a bind connection and the user's bind
  return open + 2 * op + (open + op) + groupCheck
}

/** Warnings about timeouts that cannot fit, and about checks that read with the user's own rights. */
export function budgetWarnings(
  auth: AuthConfig,
  dir: DirectoryTimeouts,
  pluginTimeoutS: number | undefined,
): string[] {
  const w: string[] = []
  const deadline = hookDeadlineMs(auth.auth_timeout, pluginTimeoutS)
  const pluginMs = (Number(pluginTimeoutS) || 0) * 1000
  if (pluginMs > 0 && auth.auth_timeout > deadline) {
    w.push(
      `auth_timeout=${auth.auth_timeout} ms does not fit Haraka's plugin timeout for ldap_auth (${pluginMs / 1000} s, config/ldap_auth.timeout or plugin_timeout) less ${pluginMarginMs(pluginMs)} ms: AUTH answers 454 after ${deadline} ms`,
    )
  }
  const worst = directoryWorstCaseMs(dir, auth)
  if (worst > deadline) {
    w.push(
      `the directory timeouts (ldap_directory.ini: ${dir.servers.length} server(s), connect_timeout=${dir.connect_timeout}, timeout=${dir.timeout}) let one AUTH wait up to ${worst} ms: beyond ${deadline} ms it is answered 454 4.7.0`,
    )
  }
  if (auth.failure_delay_max >= deadline) {
    w.push(
      `failure_delay_max=${auth.failure_delay_max} ms is not below the AUTH deadline of ${deadline} ms: delays are cut to the time left`,
    )
  }
  const p = auth.account
  if (dir.mode === 'template' && !dir.bind_dn && (p.disabledAttribute || p.checkPpolicyLock)) {
    const attrs = [p.disabledAttribute, p.checkPpolicyLock ? 'pwdAccountLockedTime' : '']
      .filter(Boolean)
      .join(', ')
    w.push(
      `mode=template without bind_dn: ${attrs} is read with the user's own rights; an ACL that hides it from the user makes the check pass (set bind_dn to read it as the service account)`,
    )
  }
  return w
}
