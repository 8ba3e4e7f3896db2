// `haraka-ldap sender <login> <address>`: may this login (the session's identity,
// notes.auth_user) use this address as MAIL FROM and in From/Sender, and why —
// answered by auth_relay's own judges (lib/authz) over the same config/ and the
// directory: the attribute that lists it, a sub-address, a [send_as] group.
import { loginOwnership } from '../../lib/authz/ownership'
import type { Ownership } from '../../lib/authz/senders'
import { judgeSender } from '../../lib/authz/envelope'
import { addressesOfValue } from '../../lib/ldap/addresses'
import { LDAP_DIRECTORY_INI, type DirectoryConfig } from '../../lib/ldap/config'
import { DirectoryUnavailableError } from '../../lib/ldap/errors'
import { DirectoryHandle } from '../../lib/ldap/handle'
import { findLoginEntry } from '../../lib/ldap/login_entry'
import { canonicalAddress, withoutSubaddress } from '../../lib/mail/address'
import { AUTH_RELAY_INI, type RelayConfig } from '../../lib/relay/config'
import { recipientDirectoryConfig, recipientDirectoryNeeded } from '../../lib/relay/recipients'
import { HEADER_REPLIES, REPLIES } from '../../lib/replies'
import { EXIT, loadIni } from './common'

export interface SenderReport {
  login: string
  address: string
  entry: string | null
  /** every address the entry lists, with the attribute that lists it */
  addresses: { attribute: string; address: string }[]
  ownership: { owned: boolean; via?: string; attribute?: string; group?: string; reason?: string }
  mail_from: { verdict: string; reason: string; detail?: string; enforced: boolean; reply?: string }
  headers: { verdict: string; header_alignment: string; reply?: string; note?: string }
}

export async function checkSender(
  dir: string,
  login: string,
  address: string,
): Promise<{ report: SenderReport; code: number }> {
  const dirCfg = loadIni(dir, LDAP_DIRECTORY_INI)
  const cfg = loadIni(dir, AUTH_RELAY_INI)
  const directory = new DirectoryHandle()
  directory.update(dirCfg)
  const recipients = new DirectoryHandle()
  recipients.update(recipientDirectoryConfig(dirCfg, cfg))
  try {
    return await judge(dirCfg, cfg, directory, recipients, login, address)
  } catch (err) {
    // As auth_relay answers it (checkFailed): 451 4.4.3, the message naming the servers.
    if (!(err instanceof DirectoryUnavailableError)) throw err
    const reply = replyLine(REPLIES.DIRECTORY_TEMPFAIL)
    const report: SenderReport = {
      login,
      address,
      entry: null,
      addresses: [],
      ownership: { owned: false, reason: 'directory_unavailable' },
      mail_from: {
        verdict: 'err',
        reason: 'directory_unavailable',
        detail: err.message,
        enforced: cfg.enforce_sender,
        reply,
      },
      headers: { verdict: 'err', header_alignment: cfg.header_alignment, reply },
    }
    return { report, code: EXIT.REFUSED }
  } finally {
    await Promise.all([directory.close(), recipients.close()])
  }
}

async function judge(
  dirCfg: DirectoryConfig,
  cfg: RelayConfig,
  directory: DirectoryHandle,
  recipients: DirectoryHandle,
  login: string,
  address: string,
): Promise<{ report: SenderReport; code: number }> {
  {
    const sources = {
      directory,
      mode: dirCfg.mode,
      recipients: recipientDirectoryNeeded(dirCfg, cfg) ? recipients : undefined,
      senderAttributes: cfg.sender_attributes,
      subaddressSeparator: cfg.subaddress_separator,
      sendAs: cfg.sendAs,
    }
    const ownership = loginOwnership(sources, { key: login, groups: new Map(), claims: new Map() }, login)
    const nullSender = address === '' || address === '<>'
    const mail = await judgeSender(nullSender ? null : address, ownership, {
      enforce: cfg.enforce_sender,
      allowNullSender: cfg.allow_null_sender,
    })
    const found = await directory.use((d) => findLoginEntry(d, dirCfg.mode, login, cfg.sender_attributes))
    const addresses: SenderReport['addresses'] = []
    if (found.kind === 'found')
      for (const attribute of cfg.sender_attributes)
        for (const v of found.entry.attributes[attribute.toLowerCase()] ?? []) {
          const a = addressesOfValue(attribute, v)
          if (a) addresses.push({ attribute, address: a.address })
        }
    const own: Ownership =
      nullSender || found.kind !== 'found' ? { owned: false } : await ownership.owns(address)
    const canonical = canonicalAddress(address)
    const base = canonical && withoutSubaddress(canonical, cfg.subaddress_separator)
    const listedIn = (a: string | null | undefined) =>
      a ? addresses.find((x) => canonicalAddress(x.address) === a)?.attribute : undefined
    const ownershipReport: SenderReport['ownership'] = own.owned
      ? {
          owned: true,
          via: own.via,
          ...(own.via === 'listed' ? { attribute: listedIn(canonical) } : {}),
          ...(own.via === 'subaddress' ? { attribute: listedIn(base) } : {}),
          ...(own.group ? { group: own.group } : {}),
        }
      : { owned: false, ...(own.reason ? { reason: own.reason } : {}) }
    const headerRule = cfg.header_alignment
    const headers: SenderReport['headers'] =
      headerRule === 'off'
        ? { verdict: 'not checked', header_alignment: 'off' }
        : own.owned
          ? { verdict: 'pass', header_alignment: headerRule }
          : headerRule === 'add_sender'
            ? {
                verdict: 'repaired',
                header_alignment: headerRule,
                note: 'a Sender: with the login primary address replaces any client Sender',
              }
            : {
                verdict: 'fail',
                header_alignment: headerRule,
                ...(cfg.enforce_sender
                  ? { reply: replyLine(HEADER_REPLIES.sender_not_owned) }
                  : { note: 'enforce_sender=false: recorded only' }),
              }
    const report: SenderReport = {
      login,
      address,
      entry: found.kind === 'found' ? found.entry.dn : null,
      addresses,
      ownership: ownershipReport,
      mail_from: {
        verdict: mail.verdict,
        reason: mail.reason,
        ...(mail.detail ? { detail: mail.detail } : {}),
        enforced: cfg.enforce_sender,
        ...(mail.reply ? { reply: replyLine(mail.reply) } : {}),
      },
      headers,
    }
    return { report, code: mail.verdict === 'pass' ? EXIT.OK : EXIT.REFUSED }
  }
}

function replyLine(r: { code: number; enh: string; text: string }): string {
  return `${r.code} ${r.enh} ${r.text}`
}

export function renderSender(r: SenderReport): string {
  const own = r.ownership
  const why = own.owned
    ? `${own.via}${own.attribute ? ` (attribute ${own.attribute})` : ''}${own.group ? ` (member of ${own.group})` : ''}`
    : own.reason === 'directory_unavailable'
      ? 'not known (the directory is unavailable)'
      : `not owned${own.reason ? ` (${own.reason}: another directory entry has this address)` : ''}`
  return (
    [
      `login     ${r.login}`,
      `entry     ${r.entry ?? '(none found)'}`,
      ...r.addresses.map((a) => `listed    ${a.address} (${a.attribute})`),
      `address   ${r.address || '<>'}: ${why}`,
      `MAIL FROM ${r.mail_from.verdict}: sender(${r.mail_from.reason})${r.mail_from.detail ? ` - ${r.mail_from.detail}` : ''}${r.mail_from.reply ? ` -> ${r.mail_from.reply}` : ''}${!r.mail_from.enforced && r.mail_from.verdict === 'fail' ? ' (enforce_sender=false: recorded only)' : ''}`,
      `From/Sender ${r.headers.verdict} (header_alignment=${r.headers.header_alignment})${r.headers.reply ? ` -> ${r.headers.reply}` : ''}${r.headers.note ? ` - ${r.headers.note}` : ''}`,
    ].join('\n') + '\n'
  )
}
