// MAIL FROM: submission ports need AUTH; an authenticated sender must own the
// address; AUTH=<mailbox> is believed only where it may be; optionally,
// unauthenticated mail claiming one of our domains is refused.
import constants from 'haraka-constants'
import type { Address, Connection, Next } from 'haraka'
import { safeForLog } from '../../lib/text'
import { addressOf, hostOf } from '../../haraka/address'
import { toDsn } from '../../haraka/dsn'
import { endChain, nextOnce } from '../../haraka/next_once'
import { DirectoryUnavailableError } from '../../lib/ldap/directory'
import { judgeAuthParam, parseAuthParam, type AuthParam } from '../../lib/authz/mail_auth'
import { inNetworks } from '../../lib/net/networks'
import { canonicalDomain } from '../../lib/mail/address'
import { REPLIES, type Reply } from '../../lib/replies'
import { authUser, loginOwnership, popGrant, type AuthRelay, type LoginOwnership } from './state'

type Verdict = (reply: Reply | null, rule: string, why: string) => void

export function sender_gate(
  this: AuthRelay,
  next: Next,
  connection: Connection,
  params: [Address, Record<string, unknown>?],
): void {
  const sender = params[0]
  const authParam = parseAuthParam(params[1]?.AUTH)
  const login = authUser(connection)
  const done = nextOnce(next)
  const run = login
    ? authenticatedSender(this, connection, login, sender, authParam)
    : unauthenticatedSender(this, connection, sender, authParam)
  const chain = run.then(
    (reply) => (reply ? done(reply.code >= 500 ? constants.deny : constants.denysoft, toDsn(reply)) : done()),
    (err: unknown) => {
      const why =
        err instanceof DirectoryUnavailableError ? err.message : ((err as Error).stack ?? String(err))
      connection.results.add(this, { err: 'sender(directory_unavailable)' })
      connection.logerror(this, `sender check for ${safeForLog(login ?? '-')} failed: ${why}`)
      done(constants.denysoft, toDsn(REPLIES.DIRECTORY_TEMPFAIL))
    },
  )
  endChain(
    chain,
    done,
    (m) => connection.logerror(this, `MAIL: ${m}`),
    constants.denysoft,
    toDsn(REPLIES.RELAY_INTERNAL_ERROR),
  )
}

/** Resolves to the refusal to give, or null to accept. */
async function authenticatedSender(
  plugin: AuthRelay,
  connection: Connection,
  login: string,
  sender: Address,
  authParam: AuthParam,
): Promise<Reply | null> {
  const enforce = plugin.cfg.enforce_sender
  let outcome: Reply | null = null
  const refuse: Verdict = (reply, rule, why) => {
    connection.results.add(plugin, { fail: `sender(${rule})` })
    connection.lognotice(
      plugin,
      `MAIL ${enforce ? 'refused' : 'would be refused (enforce_sender=false)'} for ${safeForLog(login)}: ${why}`,
    )
    if (enforce) outcome = reply
  }
  const ownership = loginOwnership(plugin, connection, login)
  if (sender.isNull()) {
    if (!plugin.cfg.allow_null_sender) refuse(REPLIES.NULL_SENDER_REFUSED, 'null_sender', 'null sender <>')
    else connection.results.add(plugin, { pass: 'sender(null_sender_allowed)' })
  } else {
    const address = addressOf(sender)
    if ((await ownership.owned()).kind === 'no_entry') {
      refuse(REPLIES.SENDER_NOT_OWNED, 'no_entry', 'no directory entry for the login')
    } else {
      const own = await ownership.owns(address)
      if (!own.owned) {
        const other = own.reason === 'another_entry' ? ' (another directory entry has it)' : ''
        refuse(
          REPLIES.SENDER_NOT_OWNED,
          'not_owned',
          `${safeForLog(address)} is not one of its addresses${other}`,
        )
      } else {
        connection.results.add(plugin, { pass: `sender(${own.via === 'listed' ? 'owned' : own.via})` })
        if (own.via === 'send_as')
          connection.loginfo(
            plugin,
            `${safeForLog(login)} sends as ${safeForLog(address)}: member of ${own.group}`,
          )
      }
    }
  }
  if (outcome) return outcome
  await recordAuthParam(plugin, connection, authParam, { authenticated: true, ownership })
  return null
}

async function unauthenticatedSender(
  plugin: AuthRelay,
  connection: Connection,
  sender: Address,
  authParam: AuthParam,
): Promise<Reply | null> {
  const { cfg } = plugin
  const ip = connection.remote.ip
  const trusted = inNetworks(ip, cfg.trusted)
  if (cfg.submissionPorts.has(connection.local.port) && !trusted) {
    connection.results.add(plugin, { fail: 'mail(auth_required)' })
    connection.lognotice(
      plugin,
      `MAIL refused on submission port ${connection.local.port}: not authenticated`,
    )
    return REPLIES.SUBMISSION_AUTH_REQUIRED
  }
  await recordAuthParam(plugin, connection, authParam, { authenticated: false })
  const mode = cfg.inbound_local_sender
  if (mode === 'accept' || sender.isNull() || trusted) return null
  if (!plugin.localDomains.has(canonicalDomain(hostOf(sender)))) return null
  if (await popGrant(plugin, connection)) return null
  connection.results.add(plugin, { fail: 'mail(local_sender_unauthenticated)' })
  const what = `${safeForLog(addressOf(sender))} is in a local domain but ${ip} did not authenticate`
  connection.lognotice(
    plugin,
    `MAIL ${mode === 'refuse' ? 'refused' : 'would be refused (inbound_local_sender=observe)'}: ${what}`,
  )
  return mode === 'refuse' ? REPLIES.INBOUND_LOCAL_SPOOF : null
}

/** AUTH=<mailbox> (RFC 4954 §5): believed for an owned address of the login, or from mail_auth_peers; otherwise <>. */
async function recordAuthParam(
  plugin: AuthRelay,
  connection: Connection,
  param: AuthParam,
  who: { authenticated: true; ownership: LoginOwnership } | { authenticated: false },
): Promise<void> {
  if (param.kind === 'absent' || !connection.transaction) return
  const ownedByLogin =
    who.authenticated && param.kind === 'mailbox' ? (await who.ownership.owns(param.address)).owned : false
  const trustedPeer = inNetworks(connection.remote.ip, plugin.cfg.mailAuthPeers)
  const verdict = judgeAuthParam(param, { authenticated: who.authenticated, trustedPeer, ownedByLogin })
  connection.transaction.notes.auth_relay_mail_auth = verdict.value
  connection.results.add(plugin, { [verdict.accepted ? 'pass' : 'skip']: `mail_auth(${verdict.reason})` })
  const shown = param.kind === 'mailbox' ? safeForLog(param.address) : param.kind
  if (verdict.accepted)
    connection.loginfo(plugin, `AUTH=${verdict.value} on MAIL FROM accepted (${verdict.reason})`)
  else
    connection.lognotice(
      plugin,
      `AUTH= parameter ${shown} on MAIL FROM ignored, treated as AUTH=<> (${verdict.reason})`,
    )
}
