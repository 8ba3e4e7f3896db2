// Holds the live Directory for a plugin and swaps it when the configuration
// changes (hot reload), closing the old pools once the new one is in place.
import type { DirectoryConfig } from './config'
import { createDirectory, type AuthDirectory, type DirectoryOptions } from './directory'

export class DirectoryHandle {
  private current: { key: string; dir: AuthDirectory } | undefined

  constructor(
    private readonly factory: (cfg: DirectoryConfig, opts?: DirectoryOptions) => AuthDirectory = createDirectory,
    private readonly opts: DirectoryOptions = {},
  ) {}

  /** Use `cfg` from now on; a no-op when nothing that matters changed. */
  update(cfg: DirectoryConfig): void {
    const key = JSON.stringify(cfg)
    if (this.current?.key === key) return
    const old = this.current
    this.current = { key, dir: this.factory(cfg, this.opts) }
    // Operations in flight on the old pools finish; close() only ends idle ones and refuses new work.
    if (old) void old.dir.close()
  }

  get directory(): AuthDirectory {
    if (!this.current) throw new Error('directory not configured')
    return this.current.dir
  }

  async close(): Promise<void> {
    const old = this.current
    this.current = undefined
    if (old) await old.dir.close()
  }
}
