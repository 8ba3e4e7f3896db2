// The sender-ownership service of one session: which addresses may this login
// use, answered from the directory by the rule of lib/authz/senders, each
// answer read at most once per connection (lib/authz/session). Once the caller
// no longer needs the answers (its hook has answered, the client has left),
// `stop` says why and no further directory operation starts.
import type { Directory, DirectoryEntry, Lookup } from '../ldap/types'
import type { DirectoryHandle } from '../ldap/handle'
import { findLoginEntry } from '../ldap/login_entry'
import { loginParts } from '../ldap/template'
import { claimedByAnotherEntry, ownedFromEntry, ownsAddress, type Owned, type Ownership } from './senders'
import { cachedAnswer, cachedOwned, type SenderCache } from './session'

export interface LoginOwnership {
  owned(): Promise<Owned>
  owns(address: string): Promise<Ownership>
}

/** Thrown instead of starting a directory operation once the answer is no longer needed. */
export class CheckStopped extends Error {
  constructor(why: string) {
    super(why)
    this.name = 'CheckStopped'
  }
}

/** Why to start no more directory work, or undefined to go on. */
export type StopReason = () => string | undefined

export interface OwnershipSources {
  /** the logins' entries and [send_as] groups */
  directory: DirectoryHandle
  /** ldap_directory.ini's mode: how a login, or an address, names its entry */
  mode: string
  /** recipient_filter searches, also asked whether a sub-address is another entry's; absent when there is none */
  recipients: DirectoryHandle | undefined
  senderAttributes: readonly string[]
  subaddressSeparator: string
  /** canonical shared address -> group DN ([send_as]) */
  sendAs: ReadonlyMap<string, string>
  /**
   * The login's entry with senderAttributes, as found at AUTH by the same search
   * (lib/ldap/login_entry knownLoginEntry): the addresses are then read from it, no search.
   */
  known?: DirectoryEntry
}

const ONLY_DN = ['1.1']

/** The login's addresses and send-as rights; every directory operation first asks `stop`. */
export function loginOwnership(
  src: OwnershipSources,
  cache: SenderCache,
  login: string,
  stop?: StopReason,
): LoginOwnership {
  const use = <R>(handle: DirectoryHandle, fn: (d: Directory) => Promise<R>): Promise<R> => {
    const why = stop?.()
    return why ? Promise.reject(new CheckStopped(why)) : handle.use(fn)
  }
  /** Who else may have `address`: the entry it names as a login, and the entry the recipient filter finds. */
  const claimLookups = (address: string): Array<() => Promise<Lookup>> => {
    const { recipients } = src
    const lookups = [() => use(src.directory, (d) => findLoginEntry(d, src.mode, address, ONLY_DN))]
    if (recipients) lookups.push(() => use(recipients, (d) => d.findUser(loginParts(address), ONLY_DN)))
    return lookups
  }
  const { known } = src
  const owned = () =>
    cachedOwned(cache, () =>
      known
        ? Promise.resolve(ownedFromEntry(known.dn, known.attributes, src.senderAttributes))
        : use(src.directory, async (d) => {
            const found = await findLoginEntry(d, src.mode, login, src.senderAttributes)
            if (found.kind !== 'found') return { kind: 'no_entry' }
            return ownedFromEntry(found.entry.dn, found.entry.attributes, src.senderAttributes)
          }),
    )
  return {
    owned,
    async owns(address) {
      const entry = await owned()
      if (entry.kind !== 'found') return { owned: false }
      return ownsAddress(entry.addresses, address, {
        subaddressSeparator: src.subaddressSeparator,
        sendAs: src.sendAs,
        isMember: (group) =>
          cachedAnswer(cache.groups, group, () => use(src.directory, (d) => d.isMember(group, entry.dn))),
        claimedByAnotherEntry: (canonical) =>
          cachedAnswer(cache.claims, canonical, () =>
            claimedByAnotherEntry(entry.dn, claimLookups(canonical)),
          ),
      })
    },
  }
}
