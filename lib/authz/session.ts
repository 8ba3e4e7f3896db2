// Per-session caches for the sender checks: the login's addresses are read
// from the directory once per connection (at the first MAIL FROM), and each
// [send_as] group, and whether a sub-address is another entry's address, is
// checked at most once per connection. Failures are not cached, so a
// directory outage is retried at the next command. A session keeps at most
// SESSION_ANSWERS_MAX answers of each kind (the oldest go first): one message
// checks at most identity_header_max_addresses addresses, but a session may send
// many messages. Where the cache is kept for the session is the adapter's
// business (haraka/notes).
import type { Owned } from './senders'

export interface SenderCache {
  /** login plus the settings the lookup depends on; a change (AUTH, reload) starts afresh */
  key: string
  owned?: Owned
  groups: Map<string, boolean>
  /** canonical address -> is it another directory entry's address? */
  claims: Map<string, boolean>
}

const SESSION_ANSWERS_MAX = 1000

/** The cache for `key`: the session's `current` one when it was made for the same key, else a new, empty one. */
export function senderCacheFor(current: SenderCache | undefined, key: string): SenderCache {
  return current?.key === key ? current : { key, groups: new Map(), claims: new Map() }
}

export async function cachedOwned(cache: SenderCache, load: () => Promise<Owned>): Promise<Owned> {
  cache.owned ??= await load()
  return cache.owned
}

/** The answer kept for `key` (a [send_as] group in `cache.groups`, an address in `cache.claims`), else `check`'s. */
export async function cachedAnswer(
  answers: Map<string, boolean>,
  key: string,
  check: () => Promise<boolean>,
): Promise<boolean> {
  const known = answers.get(key)
  if (known !== undefined) return known
  const answer = await check()
  if (!answers.has(key) && answers.size >= SESSION_ANSWERS_MAX) answers.delete(answers.keys().next().value!)
  answers.set(key, answer)
  return answer
}
