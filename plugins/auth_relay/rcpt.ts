// RCPT TO: relay tricks are refused for everyone; our own recipients are
// accepted (verified against the directory when verify_recipients is on);
// anything else only for AUTH, trusted networks or a POP/IMAP-before-SMTP
// grant. The decision is lib/relay/policy's judgeRcpt.
import constants from 'haraka-constants'
import type { Address, Connection, Next } from 'haraka'
import { safeForLog } from '../../lib/text'
import { addressOf, hostOf } from '../../haraka/address'
import { endChainOr, nextOnce } from '../../haraka/next_once'
import { answer, record } from '../../haraka/record'
import { authUser } from '../../haraka/notes'
import { DirectoryUnavailableError } from '../../lib/ldap/errors'
import { inNetworks } from '../../lib/net/networks'
import { judgeRcpt, type RcptContext, type RcptDecision } from '../../lib/relay/policy'
import { canonicalDomain } from '../../lib/mail/address'
import { recipientCheckProblem, recipientExists } from '../../lib/relay/recipients'
import { containRcpt, type Refusal } from './contain'
import { internalError } from './internal_error'
import { checkFailed, popGrant, type AuthRelay } from './state'

export function relay_gate(this: AuthRelay, next: Next, connection: Connection, params: [Address]): void {
  const done = nextOnce(next)
  const rcpt = params[0]
  const user = String(rcpt.user ?? '')
  const shown = safeForLog(addressOf(rcpt) || String(rcpt.original ?? ''))
  const chain = judgeRcpt(
    { path: String(rcpt.original ?? ''), user, domain: hostOf(rcpt) },
    rcptContext(this, connection, user, hostOf(rcpt)),
  ).then(
    async (decision) => {
      if (decision.relaying) connection.relaying = true
      const log = decision.reply
        ? { log: `RCPT ${shown} refused: ${decision.detail}` }
        : { level: 'none' as const }
      const contained = await containRecipient(this, connection, decision, rcpt)
      if (!contained) return answer(done, connection, this, decision, log, constants.ok)
      record(connection, this, decision, log)
      done(contained.code, contained.dsn)
    },
    (err: unknown) => checkFailed(this, connection, done, 'rcpt', `RCPT ${shown}: check failed`, err),
  )
  const logError = (m: string) => connection.logerror(this, `RCPT ${shown}: ${m}`)
  endChainOr(chain, done, logError, internalError)
}

function rcptContext(plugin: AuthRelay, connection: Connection, user: string, domain: string): RcptContext {
  return {
    local: { domains: plugin.localDomains, ips: plugin.cfg.localIps, listening: connection.local.ip },
    verifyRecipients: plugin.cfg.verify_recipients,
    async recipientExists() {
      const problem = recipientCheckProblem(plugin.dirCfg, plugin.cfg)
      if (problem) throw new DirectoryUnavailableError(problem)
      return plugin.recipients.use((d) => recipientExists(d, user, domain))
    },
    client: {
      ip: connection.remote.ip,
      authenticated: Boolean(authUser(connection)),
      trustedNetwork: inNetworks(connection.remote.ip, plugin.cfg.trusted),
      popGrant: () => popGrant(plugin, connection),
    },
  }
}

/** Containment counts an authenticated login's recipients: accepted ones in its budgets, refused ones as refused. */
function containRecipient(
  plugin: AuthRelay,
  connection: Connection,
  decision: RcptDecision,
  rcpt: Address,
): Promise<Refusal | undefined> {
  const login = authUser(connection)
  if (!login) return Promise.resolve(undefined)
  const domain = canonicalDomain(hostOf(rcpt))
  const external = decision.reason === 'authenticated'
  return containRcpt(plugin, connection, login, {
    accepted: decision.verdict === 'pass',
    external,
    address: addressOf(rcpt).toLowerCase(),
    domain,
  })
}
