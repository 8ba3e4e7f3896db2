// Holds the live Directory for a plugin and swaps it when the configuration
// changes (hot reload). The old directory is closed once no operation started
// through use() still runs on it, so an AUTH that began before the reload
// finishes its later steps (search, then bind, then group check) on the pools
// it started with instead of failing on closed ones.
import type { DirectoryConfig } from './config'
import { createDirectory, type DirectoryOptions } from './directory'
import type { AuthDirectory } from './types'

interface Slot {
  key: string
  dir: AuthDirectory
  /** use() calls still running on this directory */
  users: number
  retired: boolean
}

export class DirectoryHandle {
  private current: Slot | undefined
  /** replaced directories waiting for their last user */
  private readonly draining = new Set<Slot>()

  constructor(
    private readonly factory: (
      cfg: DirectoryConfig,
      opts?: DirectoryOptions,
    ) => AuthDirectory = createDirectory,
    private readonly opts: DirectoryOptions = {},
  ) {}

  /** Use `cfg` from now on; a no-op when nothing that matters changed. */
  update(cfg: DirectoryConfig): void {
    const key = JSON.stringify(cfg)
    if (this.current?.key === key) return
    const old = this.current
    this.current = { key, dir: this.factory(cfg, this.opts), users: 0, retired: false }
    if (old) this.retire(old)
  }

  /** Run `fn` on the current directory; a reload meanwhile closes it only after `fn` settles. */
  async use<R>(fn: (dir: AuthDirectory) => Promise<R>): Promise<R> {
    const slot = this.current
    if (!slot) throw new Error('directory not configured')
    slot.users++
    try {
      return await fn(slot.dir)
    } finally {
      slot.users--
      if (slot.retired && slot.users === 0) this.closeSlot(slot)
    }
  }

  /** Shutdown: close the current directory and any still draining, at once. */
  async close(): Promise<void> {
    const slots = [...this.draining, ...(this.current ? [this.current] : [])]
    this.current = undefined
    this.draining.clear()
    await Promise.all(slots.map((s) => s.dir.close()))
  }

  private retire(slot: Slot): void {
    slot.retired = true
    if (slot.users === 0) this.closeSlot(slot)
    else this.draining.add(slot)
  }

  private closeSlot(slot: Slot): void {
    this.draining.delete(slot)
    void slot.dir.close().catch(() => undefined)
  }
}
