// Per-session caches for the sender checks: the login's addresses are read
// from the directory once per connection (at the first MAIL FROM), and each
// [send_as] group is checked at most once per connection. Failures are not
// cached, so a directory outage is retried at the next command.
import type { Owned } from './senders'

export interface SenderCache {
  /** login plus the settings the lookup depends on; a change (AUTH, reload) starts afresh */
  key: string
  owned?: Owned
  groups: Map<string, boolean>
}

const NOTE = 'auth_relay_senders'

export function senderCache(notes: Record<string, any>, key: string): SenderCache {
  const current = notes[NOTE] as SenderCache | undefined
  if (current?.key === key) return current
  const fresh: SenderCache = { key, groups: new Map() }
  notes[NOTE] = fresh
  return fresh
}

export async function cachedOwned(cache: SenderCache, load: () => Promise<Owned>): Promise<Owned> {
  cache.owned ??= await load()
  return cache.owned
}

export async function cachedMembership(cache: SenderCache, groupDn: string, check: () => Promise<boolean>): Promise<boolean> {
  const known = cache.groups.get(groupDn)
  if (known !== undefined) return known
  const member = await check()
  cache.groups.set(groupDn, member)
  return member
}
