// tls_context: STARTTLS with one TLS context per certificate instead of one per
// connection. Haraka's tls plugin upgrades each session with a TLS socket for which
// Node parses the key and certificate again; this plugin patches Haraka's tls_socket
// (haraka/starttls_patch) at register time, before any listener exists, so every
// upgrade reuses a context built once and rebuilt when the certificate is reloaded.
// No hooks and no options: listing it in config/plugins turns it on. When Haraka's
// tls_socket is not the shape it knows, it patches nothing and logs a warning.
import type { Plugin } from 'haraka'
import { patchStarttls, type TlsSocketModule } from '../../haraka/starttls_patch'

interface TlsContext extends Plugin {
  /** Plugin#haraka_require: require() relative to Haraka's own directory (its tls_socket). */
  haraka_require(name: string): unknown
}

export function register(this: TlsContext): void {
  let tlsSocket: TlsSocketModule
  let version: unknown
  try {
    tlsSocket = this.haraka_require('tls_socket') as TlsSocketModule
    version = (this.haraka_require('package.json') as { version?: unknown }).version
  } catch (err) {
    this.logwarn(
      `not patching STARTTLS (stock behaviour): cannot load Haraka's tls_socket: ${(err as Error).message}`,
    )
    return
  }
  const result = patchStarttls(tlsSocket, version, (n, err) => {
    if (err)
      this.logerror(`cannot build the STARTTLS context (Node builds one per connection): ${err.message}`)
    else this.loginfo(`built STARTTLS context #${n} (at first use and after each certificate reload)`)
  })
  if (!result.patched) {
    this.logwarn(`not patching STARTTLS (stock behaviour): ${result.reason}`)
    return
  }
  if (result.already) return
  this.lognotice(`sharing one TLS context per certificate for STARTTLS (Haraka ${String(version)})`)
}
