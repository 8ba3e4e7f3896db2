// MAIL FROM: submission ports need AUTH; an authenticated sender must own the
// address; AUTH=<mailbox> is believed only where it may be; optionally,
// unauthenticated mail claiming one of our domains is refused. The decisions
// are lib/authz's (submission, envelope, mail_auth).
import constants from 'haraka-constants'
import type { Address, Connection, Next } from 'haraka'
import { safeForLog } from '../../lib/text'
import { addressOf, hostOf } from '../../haraka/address'
import { endChainOr, nextOnce, type OnceNext } from '../../haraka/next_once'
import { authUser, noteMailAuth } from '../../haraka/notes'
import { answer, record, type RecordOptions } from '../../haraka/record'
import type { Decision } from '../../lib/decisions'
import { judgeLocalSender, judgeSender } from '../../lib/authz/envelope'
import { judgeAuthParam, mailAuthDecision, parseAuthParam, type AuthParam } from '../../lib/authz/mail_auth'
import type { LoginOwnership } from '../../lib/authz/ownership'
import { submissionGate } from '../../lib/authz/submission'
import { inNetworks } from '../../lib/net/networks'
import { containMail } from './contain'
import { internalError } from './internal_error'
import { checkFailed, loginOwnership, popGrant, recordAuthRequired, submitter, type AuthRelay } from './state'

export function sender_gate(
  this: AuthRelay,
  next: Next,
  connection: Connection,
  params: [Address, Record<string, unknown>?],
): void {
  const done = nextOnce(next)
  const login = authUser(connection)
  const [sender, mailParams] = params
  const authParam = parseAuthParam(mailParams?.AUTH)
  const run = login
    ? authenticatedSender(this, connection, done, login, sender, authParam)
    : unauthenticatedSender(this, connection, done, sender, authParam)
  const chain = run.catch((err: unknown) => {
    const what = `sender check for ${safeForLog(login ?? '-')} failed`
    checkFailed(this, connection, done, 'sender', what, err)
  })
  const logError = (m: string) => connection.logerror(this, `MAIL: ${m}`)
  endChainOr(chain, done, logError, internalError)
}

async function authenticatedSender(
  plugin: AuthRelay,
  connection: Connection,
  done: OnceNext,
  login: string,
  sender: Address,
  authParam: AuthParam,
): Promise<void> {
  const { cfg } = plugin
  // A suspended or deferred login is refused before any directory work.
  const contained = await containMail(plugin, connection, login)
  if (contained) return done(contained.code, contained.dsn)
  const ownership = loginOwnership(plugin, connection, login)
  const policy = { enforce: cfg.enforce_sender, allowNullSender: cfg.allow_null_sender }
  const decision = await judgeSender(sender.isNull() ? null : addressOf(sender), ownership, policy)
  if (decision.reply) return answer(done, connection, plugin, decision, senderLog(login, decision))
  record(connection, plugin, decision, senderLog(login, decision))
  await recordAuthParam(plugin, connection, authParam, ownership)
  done()
}

function senderLog(login: string, d: Decision<'sender'>): RecordOptions {
  const who = safeForLog(login)
  if (d.verdict === 'fail') {
    const refused = d.reply ? 'refused' : 'would be refused (enforce_sender=false)'
    return { log: `MAIL ${refused} for ${who}: ${d.detail}` }
  }
  return d.detail ? { log: `${who} ${d.detail}` } : { level: 'none' }
}

async function unauthenticatedSender(
  plugin: AuthRelay,
  connection: Connection,
  done: OnceNext,
  sender: Address,
  authParam: AuthParam,
): Promise<void> {
  const { cfg } = plugin
  const who = submitter(plugin, connection)
  if (submissionGate(cfg.submissionPorts, who) === 'refuse')
    return done(constants.deny, recordAuthRequired(plugin, connection))
  await recordAuthParam(plugin, connection, authParam, undefined)
  const decision = await judgeLocalSender(
    sender.isNull() ? null : { address: addressOf(sender), domain: hostOf(sender) },
    { ip: connection.remote.ip, trusted: who.trusted, popGrant: () => popGrant(plugin, connection) },
    { mode: cfg.inbound_local_sender, localDomains: plugin.localDomains },
  )
  if (!decision) return done()
  const refused = decision.reply ? 'refused' : 'would be refused (inbound_local_sender=observe)'
  answer(done, connection, plugin, decision, { log: `MAIL ${refused}: ${decision.detail}` })
}

/** AUTH=<mailbox> (RFC 4954 §5), for the login's `ownership` or an unauthenticated session (undefined). */
async function recordAuthParam(
  plugin: AuthRelay,
  connection: Connection,
  param: AuthParam,
  ownership: LoginOwnership | undefined,
): Promise<void> {
  const txn = connection.transaction
  if (param.kind === 'absent' || !txn) return
  const ownedByLogin =
    ownership && param.kind === 'mailbox' ? (await ownership.owns(param.address)).owned : false
  const trustedPeer = inNetworks(connection.remote.ip, plugin.cfg.mailAuthPeers)
  const verdict = judgeAuthParam(param, { authenticated: Boolean(ownership), trustedPeer, ownedByLogin })
  noteMailAuth(txn, verdict.value)
  const decision = mailAuthDecision(param, verdict)
  record(connection, plugin, decision, { log: decision.detail, level: verdict.accepted ? 'info' : 'notice' })
}
