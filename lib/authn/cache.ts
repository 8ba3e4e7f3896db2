// In-memory credential cache, per Haraka process. Never holds a password: an
// entry is keyed by the login and holds HMAC-SHA256(process key, entry salt,
// login, password), where the process key is random and never leaves memory.
// (A keyed hash rather than a slow KDF: whoever can read this process's memory
// can read the key and the passwords in flight too, so slowness would buy
// nothing, while every cache hit would pay for it.)
//  - positive: the last password that authenticated and passed the account
//    checks, fresh for `ttlMs`; kept up to `staleMs` for use while the
//    directory is down, when the operator allows it;
//  - negative: login + password pairs the directory refused, for `negativeTtlMs`,
//    so a client retrying a wrong password does not reach the directory again.
// Both are bounded to `maxEntries` (least recently stored evicted first).
// A cache vouches for one configuration: a reload replaces it with a new one and
// retires the old (below), since an AUTH still running against the old directory
// holds the old object and would otherwise store its verdict after the reload.
import { createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto'

export interface CacheOptions {
  ttlMs: number
  negativeTtlMs: number
  /** age up to which a positive entry may be used while the directory is down (0: never) */
  staleMs: number
  maxEntries: number
  now?: () => number
  /** told the outcome of every lookup (for metrics; never the login or the password) */
  onLookup?: (outcome: CacheLookupOutcome) => void
}

/** A lookup's outcome: a positive or negative entry found, none, or (directory down) a stale one or none. */
export type CacheLookupOutcome = 'hit' | 'negative_hit' | 'miss' | 'stale_hit' | 'stale_miss'

interface Positive {
  salt: Buffer
  mac: Buffer
  at: number
  /** the session identity the directory gave this login (lib/authn/identity) */
  identity: string | undefined
  /** the login's entry as the user search read it (search mode), as fresh as the password */
  found: CachedEntry | undefined
}

/** A login's directory entry and the attributes it was read with (lib/authn/verify FoundEntry). */
export interface CachedEntry {
  entry: { dn: string; attributes: Record<string, string[]> }
  read: readonly string[]
}

interface Negative {
  at: number
  reason: string
  /** whose pair it is (for the operator's flush of one login); never the password */
  login: string
}

/** What the cache holds for one login (the operator's `cache flush`, `test`); never a password. */
export interface CacheEntryInfo {
  /** ms since the login's positive entry was stored; null: none */
  positive_age_ms: number | null
  /** refused (login, password) pairs kept for it */
  negative: number
}

export class CredentialCache {
  // A KeyObject, made once: createHmac with a Buffer imports the key on every call (8 -> 2 µs).
  private readonly key = createSecretKey(randomBytes(32))
  private readonly positive = new Map<string, Positive>()
  private readonly negative = new Map<string, Negative>()
  private readonly now: () => number
  private retired = false

  constructor(private readonly opts: CacheOptions) {
    this.now = opts.now ?? Date.now
  }

  get enabled(): boolean {
    return !this.retired && (this.opts.ttlMs > 0 || this.opts.negativeTtlMs > 0 || this.opts.staleMs > 0)
  }

  /**
   * The configuration this cache vouched for was replaced: empty it for good. An
   * attempt still holding it stores nothing more and finds nothing (a retired
   * cache always misses), so no verdict from a replaced directory outlives the reload.
   */
  retire(): void {
    this.retired = true
    this.clear()
  }

  get size(): { positive: number; negative: number } {
    return { positive: this.positive.size, negative: this.negative.size }
  }

  private mac(salt: Buffer, login: string, password: string): Buffer {
    return createHmac('sha256', this.key)
      .update(salt)
      .update(login)
      .update('\0')
      .update(password, 'utf8')
      .digest()
  }

  private negativeKey(login: string, password: string): string {
    return this.mac(Buffer.alloc(0), login, password).toString('base64')
  }

  private matches(entry: Positive, login: string, password: string): boolean {
    return timingSafeEqual(entry.mac, this.mac(entry.salt, login, password))
  }

  /** 'hit': this password authenticated within ttl; 'negative': refused within negative ttl. */
  lookup(
    login: string,
    password: string,
  ): { kind: 'hit' } | { kind: 'negative'; reason: string } | { kind: 'miss' } {
    if (this.retired) return { kind: 'miss' }
    const found = this.find(login, password)
    this.opts.onLookup?.(found.kind === 'negative' ? 'negative_hit' : found.kind)
    return found
  }

  private find(
    login: string,
    password: string,
  ): { kind: 'hit' } | { kind: 'negative'; reason: string } | { kind: 'miss' } {
    const now = this.now()
    const entry = this.positive.get(login)
    if (
      entry &&
      this.opts.ttlMs > 0 &&
      now - entry.at < this.opts.ttlMs &&
      this.matches(entry, login, password)
    ) {
      return { kind: 'hit' }
    }
    if (this.opts.negativeTtlMs > 0) {
      const key = this.negativeKey(login, password)
      const neg = this.negative.get(key)
      if (neg && now - neg.at < this.opts.negativeTtlMs) return { kind: 'negative', reason: neg.reason }
      if (neg) this.negative.delete(key)
    }
    return { kind: 'miss' }
  }

  /** While the directory is down: did this password authenticate within staleMs? */
  lookupStale(login: string, password: string): boolean {
    if (this.retired) return false
    const entry = this.positive.get(login)
    const hit = Boolean(
      entry &&
      this.opts.staleMs > 0 &&
      this.now() - entry.at < this.opts.staleMs &&
      this.matches(entry, login, password),
    )
    this.opts.onLookup?.(hit ? 'stale_hit' : 'stale_miss')
    return hit
  }

  storePositive(login: string, password: string, identity?: string, found?: CachedEntry): void {
    if (this.retired || (this.opts.ttlMs <= 0 && this.opts.staleMs <= 0)) return
    const salt = randomBytes(16)
    this.positive.delete(login)
    this.positive.set(login, { salt, mac: this.mac(salt, login, password), at: this.now(), identity, found })
    this.negative.delete(this.negativeKey(login, password))
    evict(this.positive, this.opts.maxEntries)
  }

  /** The identity stored with the login's positive entry (after a hit: the one that hit). */
  identityOf(login: string): string | undefined {
    return this.positive.get(login)?.identity
  }

  /** The entry stored with the login's positive entry (after a hit: the one that hit). */
  foundOf(login: string): CachedEntry | undefined {
    return this.positive.get(login)?.found
  }

  /** Drop the positive entry for this pair, if it is the cached password (nothing is stored). */
  forget(login: string, password: string): void {
    const entry = this.positive.get(login)
    if (entry && this.matches(entry, login, password)) this.positive.delete(login)
  }

  /** The directory refused this pair; a positive entry for the login with another password stays. */
  storeNegative(login: string, password: string, reason: string): void {
    // The cached password is no longer accepted (changed, or the account was refused): drop it.
    this.forget(login, password)
    if (this.retired || this.opts.negativeTtlMs <= 0) return
    const key = this.negativeKey(login, password)
    this.negative.delete(key)
    this.negative.set(key, { at: this.now(), reason, login })
    evict(this.negative, this.opts.maxEntries)
  }

  clear(): void {
    this.positive.clear()
    this.negative.clear()
  }

  /** The entries of `login` (compared case-insensitively, so every case the clients wrote counts). */
  describe(login: string): CacheEntryInfo {
    const want = login.toLowerCase()
    let age: number | null = null
    for (const [l, e] of this.positive)
      if (l.toLowerCase() === want) age = Math.min(age ?? Infinity, this.now() - e.at)
    let negative = 0
    for (const e of this.negative.values()) if (e.login.toLowerCase() === want) negative++
    return { positive_age_ms: age, negative }
  }

  /** The operator's flush: every entry, or those of `login` (case-insensitively). Answers how many went. */
  flush(login?: string): { positive: number; negative: number } {
    if (login === undefined) {
      const removed = this.size
      this.clear()
      return removed
    }
    const want = login.toLowerCase()
    let positive = 0
    let negative = 0
    for (const l of [...this.positive.keys()])
      if (l.toLowerCase() === want) {
        this.positive.delete(l)
        positive++
      }
    for (const [k, e] of [...this.negative])
      if (e.login.toLowerCase() === want) {
        this.negative.delete(k)
        negative++
      }
    return { positive, negative }
  }
}

function evict<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next()
    if (oldest.done) return
    map.delete(oldest.value)
  }
}
