// RCPT TO: relay tricks are refused for everyone; our own recipients are
// accepted (verified against the directory when verify_recipients is on);
// anything else only for AUTH, trusted networks or a POP/IMAP-before-SMTP grant.
import constants from 'haraka-constants'
import type { Address, Connection, Next } from 'haraka'
import { safeForLog } from '../../lib/text'
import { addressOf, hostOf } from '../../haraka/address'
import { toDsn } from '../../haraka/dsn'
import { endChain, nextOnce } from '../../haraka/next_once'
import { DirectoryUnavailableError } from '../../lib/ldap/directory'
import { inNetworks } from '../../lib/net/networks'
import { normaliseIp } from '../../lib/net/ip'
import { classifyRcpt, relayRule } from '../../lib/relay/policy'
import { recipientCheckProblem, recipientExists } from '../../lib/relay/recipients'
import { TRICK_TEXT, type Trick } from '../../lib/relay/tricks'
import { REPLIES, type Reply, type ReplyName } from '../../lib/replies'
import { authUser, popGrant, type AuthRelay } from './state'

const TRICK_REPLY: Record<Trick, ReplyName> = {
  source_route: 'RELAY_TRICK_SOURCE_ROUTE',
  double_at: 'RELAY_TRICK_DOUBLE_AT',
  quoted_at: 'RELAY_TRICK_QUOTED_AT',
  percent_hack: 'RELAY_TRICK_PERCENT_HACK',
  bang_path: 'RELAY_TRICK_BANG_PATH',
  trailing_dot: 'RELAY_TRICK_TRAILING_DOT',
}

function ownIps(plugin: AuthRelay, connection: Connection): ReadonlySet<string> {
  const listening = normaliseIp(connection.local.ip)
  return listening ? new Set([...plugin.cfg.localIps, listening]) : plugin.cfg.localIps
}

export function relay_gate(this: AuthRelay, hookNext: Next, connection: Connection, params: [Address]): void {
  const next = nextOnce(hookNext)
  const rcpt = params[0]
  const shown = safeForLog(addressOf(rcpt) || String(rcpt.original ?? ''))
  const target = classifyRcpt(
    { path: String(rcpt.original ?? ''), user: String(rcpt.user ?? ''), domain: hostOf(rcpt) },
    { domains: this.localDomains, ips: ownIps(this, connection) },
  )
  const refuse = (reply: Reply, rule: string, why: string, code = constants.deny) => {
    connection.results.add(this, { fail: `rcpt(${rule})` })
    connection.lognotice(this, `RCPT ${shown} refused: ${why}`)
    next(code, toDsn(reply))
  }
  const accept = (rule: string) => {
    if (rule === 'trusted_network' || rule === 'pop_before_smtp') connection.relaying = true
    connection.results.add(this, { pass: `rcpt(${rule})` })
    next(constants.ok)
  }
  const failed = (err: unknown) => {
    const why = err instanceof DirectoryUnavailableError ? err.message : ((err as Error).stack ?? String(err))
    connection.results.add(this, { err: 'rcpt(directory_unavailable)' })
    connection.logerror(this, `RCPT ${shown}: check failed: ${why}`)
    next(constants.denysoft, toDsn(REPLIES.DIRECTORY_TEMPFAIL))
  }
  const settle = (chain: Promise<unknown>) =>
    endChain(
      chain,
      next,
      (m) => connection.logerror(this, `RCPT ${shown}: ${m}`),
      constants.denysoft,
      toDsn(REPLIES.RELAY_INTERNAL_ERROR),
    )

  if (target.kind === 'trick') {
    return refuse(
      REPLIES[TRICK_REPLY[target.trick]],
      target.trick,
      `relaying denied: ${TRICK_TEXT[target.trick]}`,
    )
  }
  if (target.kind === 'local') {
    // postmaster@ any local domain must always be accepted (RFC 5321 §4.5.1).
    if (
      !this.cfg.verify_recipients ||
      target.rule === 'postmaster' ||
      String(rcpt.user ?? '').toLowerCase() === 'postmaster'
    )
      return accept(target.rule)
    const problem = recipientCheckProblem(this.dirCfg, this.cfg)
    if (problem) return failed(new DirectoryUnavailableError(problem))
    return settle(
      this.recipients
        .use((d) => recipientExists(d, String(rcpt.user ?? ''), hostOf(rcpt)))
        .then((exists) =>
          exists
            ? accept('local_user')
            : refuse(REPLIES.RCPT_UNKNOWN_USER, 'unknown_user', 'no directory entry for this address'),
        )
        .catch(failed),
    )
  }

  const who = {
    authenticated: Boolean(authUser(connection)),
    trustedNetwork: inNetworks(connection.remote.ip, this.cfg.trusted),
  }
  const decide = (popBeforeSmtp: boolean) => {
    const rule = relayRule({ ...who, popBeforeSmtp })
    if (rule) return accept(rule)
    if (target.addressLiteral)
      return refuse(
        REPLIES.RELAY_DENIED_IP_LITERAL,
        'relay_denied',
        `relaying denied: address literal is not ours, for unauthenticated ${connection.remote.ip}`,
      )
    refuse(
      REPLIES.RELAY_DENIED,
      'relay_denied',
      `relaying denied for unauthenticated ${connection.remote.ip}`,
    )
  }
  if (who.authenticated || who.trustedNetwork || !this.cfg.popBeforeSmtp) return decide(false)
  settle(popGrant(this, connection).then(decide, failed))
}
