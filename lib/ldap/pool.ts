// A small bounded pool: at most `max` resources, each used by one caller at a
// time (one LDAP bind in flight per connection, RFC 4511 §4.2.1), waiters queued
// with a deadline, idle resources closed. Written by hand because the pools on
// npm (generic-pool, tarn) have not seen a release in years.
import { withDeadline } from '../deadline'

export interface PoolOptions<T> {
  max: number
  create: () => Promise<T>
  destroy: (item: T) => Promise<void> | void
  /** wait at most this long for a free resource */
  acquireTimeoutMs: number
  /** close resources idle longer than this */
  idleTimeoutMs: number
  /** checked before an idle resource is reused and when one is given back; false discards it */
  validate?: (item: T) => boolean
  /** give up on create() after this long (its slot is freed; a resource it makes later is destroyed); 0: no limit */
  createTimeoutMs?: number
}

interface Idle<T> {
  item: T
  since: number
}

interface Waiter<T> {
  resolve: (item: T) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

export class PoolClosedError extends Error {}
export class PoolTimeoutError extends Error {}

export class Pool<T> {
  private idle: Idle<T>[] = []
  private waiters: Waiter<T>[] = []
  private size = 0
  private closed = false
  private reaper: NodeJS.Timeout

  constructor(private readonly opts: PoolOptions<T>) {
    this.reaper = setInterval(() => this.reapIdle(), Math.min(opts.idleTimeoutMs, 10000))
    this.reaper.unref()
  }

  /** Resources in existence (busy + idle); never above `max`. */
  get total(): number {
    return this.size
  }

  get idleCount(): number {
    return this.idle.length
  }

  /** Callers waiting for a resource. */
  get waitingCount(): number {
    return this.waiters.length
  }

  async acquire(): Promise<T> {
    if (this.closed) throw new PoolClosedError('pool is closed')
    for (let idle = this.idle.pop(); idle; idle = this.idle.pop()) {
      if (!this.opts.validate || this.opts.validate(idle.item)) return idle.item
      this.discard(idle.item)
    }
    if (this.size < this.opts.max) return this.createOne()
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer)
        reject(new PoolTimeoutError(`no free connection within ${this.opts.acquireTimeoutMs} ms`))
      }, this.opts.acquireTimeoutMs)
      this.waiters.push({ resolve, reject, timer })
    })
  }

  /** Give a healthy resource back (one that no longer validates is discarded instead). */
  release(item: T): void {
    if (this.closed || (this.opts.validate && !this.opts.validate(item))) {
      this.discard(item)
      return
    }
    const waiter = this.waiters.shift()
    if (waiter) {
      clearTimeout(waiter.timer)
      waiter.resolve(item)
      return
    }
    this.idle.push({ item, since: Date.now() })
  }

  /** Throw a broken resource away; a waiter gets a fresh one. */
  discard(item: T): void {
    this.size--
    void Promise.resolve()
      .then(() => this.opts.destroy(item))
      .catch(() => undefined)
    this.serveWaiter()
  }

  /** Run `fn` with a resource; a throw from `fn` discards it unless `keep(err)` says it is still healthy. */
  async use<R>(fn: (item: T) => Promise<R>, keep: (err: unknown) => boolean = () => false): Promise<R> {
    const item = await this.acquire()
    try {
      const result = await fn(item)
      this.release(item)
      return result
    } catch (err) {
      if (keep(err)) this.release(item)
      else this.discard(item)
      throw err
    }
  }

  /** Discard every idle resource that no longer validates (e.g. connections to a backup server). */
  prune(): void {
    if (!this.opts.validate) return
    const keep: Idle<T>[] = []
    for (const i of this.idle) {
      if (this.opts.validate(i.item)) keep.push(i)
      else this.discard(i.item)
    }
    this.idle = keep
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.reaper)
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer)
      w.reject(new PoolClosedError('pool is closed'))
    }
    const idle = this.idle.splice(0)
    this.size -= idle.length
    await Promise.all(idle.map((i) => Promise.resolve(this.opts.destroy(i.item)).catch(() => undefined)))
  }

  private async createOne(): Promise<T> {
    this.size++
    try {
      const ms = this.opts.createTimeoutMs ?? 0
      if (!ms) return await this.opts.create()
      return await withDeadline(this.opts.create(), ms, `no connection opened within ${ms} ms`, {
        late: (item) => void Promise.resolve(this.opts.destroy(item)).catch(() => undefined),
      })
    } catch (err) {
      this.size--
      this.serveWaiter()
      throw err
    }
  }

  private serveWaiter(): void {
    if (this.closed || this.size >= this.opts.max) return
    const waiter = this.waiters.shift()
    if (!waiter) return
    clearTimeout(waiter.timer)
    this.createOne().then(waiter.resolve, waiter.reject)
  }

  private reapIdle(): void {
    const cutoff = Date.now() - this.opts.idleTimeoutMs
    const keep: Idle<T>[] = []
    for (const i of this.idle) {
      if (i.since < cutoff) {
        this.size--
        void Promise.resolve(this.opts.destroy(i.item)).catch(() => undefined)
      } else keep.push(i)
    }
    this.idle = keep
  }
}
