// Which directory servers are usable, in the configured order. A server that
// refuses connections or times out is marked down; new connections go to the
// first server that is up, and down ones are tried only after every up one has
// failed (so a single-server setup recovers on its own). While any server is
// down a background probe (connect + bind or WhoAmI) runs every
// `healthIntervalMs`; when one answers it is marked up again, and since new
// connections always prefer the earliest up server, traffic fails back to it.
import { withDeadline } from '../deadline'

export interface ServerEvent {
  url: string
  up: boolean
  reason: string
}

export interface ServerSetOptions {
  healthIntervalMs: number
  /** resolves when the server answers an LDAP request; rejects otherwise */
  probe: (url: string) => Promise<void>
  /** a probe that has not answered after this long failed (the next one runs at the next interval); 0: no limit */
  probeTimeoutMs?: number
  onChange?: (event: ServerEvent) => void
}

export class ServerSet {
  private readonly down = new Map<string, number>()
  private readonly probing = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    readonly urls: readonly string[],
    private readonly opts: ServerSetOptions,
  ) {}

  isUp(url: string): boolean {
    return !this.down.has(url)
  }

  /** Up servers in configured order, then down ones (last resort), also in order. */
  candidates(): string[] {
    return [...this.urls.filter((u) => this.isUp(u)), ...this.urls.filter((u) => !this.isUp(u))]
  }

  /** True when a server earlier in the list than `url` is up: connections to `url` should retire. */
  outranked(url: string): boolean {
    const index = this.urls.indexOf(url)
    for (let i = 0; i < index; i++) if (this.isUp(this.urls[i]!)) return true
    return false
  }

  /** True when another server than `url` is up (worth retrying an operation there). */
  hasAlternative(url: string): boolean {
    return this.urls.some((u) => u !== url && this.isUp(u))
  }

  markDown(url: string, reason: string): void {
    if (this.closed || !this.urls.includes(url) || this.down.has(url)) return
    this.down.set(url, Date.now())
    this.opts.onChange?.({ url, up: false, reason })
    this.schedule()
  }

  markUp(url: string, reason: string): void {
    if (!this.down.delete(url)) return
    this.opts.onChange?.({ url, up: true, reason })
    if (this.down.size === 0) this.stopTimer()
  }

  /** Probe every down server once now (the timer calls this). */
  async checkNow(): Promise<void> {
    await Promise.all(
      [...this.down.keys()].map(async (url) => {
        if (this.probing.has(url)) return
        this.probing.add(url)
        try {
          const ms = this.opts.probeTimeoutMs ?? 0
          await (ms
            ? withDeadline(this.opts.probe(url), ms, `health check not answered within ${ms} ms`)
            : this.opts.probe(url))
          if (!this.closed) this.markUp(url, 'health check answered')
        } catch {
          // still down
        } finally {
          this.probing.delete(url)
        }
      }),
    )
  }

  close(): void {
    this.closed = true
    this.stopTimer()
  }

  private schedule(): void {
    if (this.timer || this.closed) return
    this.timer = setInterval(() => void this.checkNow(), this.opts.healthIntervalMs)
    this.timer.unref()
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }
}
