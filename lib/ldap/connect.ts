// Opening one LDAP connection: servers tried in order, TLS verified, and no
// silent reconnects. ldapts would transparently reconnect a dropped socket as
// an anonymous (and, after StartTLS, cleartext) session; we refuse that, so a
// dropped connection fails its operation and the pool replaces it properly.
import net from 'node:net'
import tls from 'node:tls'
import { Client } from 'ldapts'
import type { DirectoryConfig } from './config'
import { withDeadline } from '../deadline'
import { describeLdapError, DirectoryUnavailableError } from './errors'
import type { ServerSet } from './servers'

interface Target {
  url: string
  secure: boolean
  host: string
  port: number
}

function parseServerUrl(url: string): Target {
  const m = /^(ldaps?):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/i.exec(url)
  if (!m) throw new Error(`not an LDAP URL: ${url}`)
  const secure = m[1]!.toLowerCase() === 'ldaps'
  const host = m[2]!.replace(/^\[|\]$/g, '')
  return { url, secure, host, port: m[3] ? Number(m[3]) : secure ? 636 : 389 }
}

/**
 * TLS options for `host`, the URL's host, the same for LDAPS and StartTLS. Node
 * checks the certificate against `servername`, else `host`; StartTLS upgrades a
 * socket tls.connect did not open, so without `host` an IP URL (no servername)
 * was checked against "localhost". An IP is checked against the certificate's
 * IP addresses and is never sent as SNI (RFC 6066 section 3).
 */
function tlsOptions(cfg: DirectoryConfig, host: string): tls.ConnectionOptions {
  return {
    ca: cfg.tlsCa,
    rejectUnauthorized: cfg.tls_reject_unauthorized,
    host,
    servername: net.isIP(host) ? undefined : host,
  }
}

function openSocket(target: Target, cfg: DirectoryConfig): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = target.secure
      ? tls.connect({ host: target.host, port: target.port, ...tlsOptions(cfg, target.host) })
      : net.connect({ host: target.host, port: target.port })
    const timer = setTimeout(
      () => fail(new Error(`connect timeout after ${cfg.connect_timeout} ms`)),
      cfg.connect_timeout,
    )
    const fail = (err: Error) => {
      clearTimeout(timer)
      socket.destroy()
      reject(err)
    }
    socket.once('error', fail)
    socket.once(target.secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer)
      socket.removeListener('error', fail)
      resolve(socket)
    })
  })
}

/** A socket factory that hands out `socket` once and refuses any reconnect. */
function once(socket: net.Socket): () => net.Socket {
  let used = false
  return () => {
    if (!used) {
      used = true
      return socket
    }
    const refused = new net.Socket()
    process.nextTick(() => refused.emit('error', new Error('LDAP connection lost; not reconnecting')))
    return refused
  }
}

async function openOn(target: Target, cfg: DirectoryConfig): Promise<Client> {
  const socket = await openSocket(target, cfg)
  const factory = once(socket) as unknown as typeof net.connect
  const client = new Client({
    url: target.url,
    timeout: cfg.timeout,
    connectTimeout: cfg.connect_timeout,
    // ldapts treats any tlsOptions as "use TLS from the start", so only for ldaps://.
    ...(target.secure ? { tlsOptions: tlsOptions(cfg, target.host) } : {}),
    strictDN: false,
    ...(target.secure
      ? { createSecureConnection: factory as unknown as typeof tls.connect }
      : { createConnection: factory }),
  })
  if (cfg.starttls) {
    // ldapts waits for the TLS handshake without a timer: a server that accepts the
    // StartTLS request and then never speaks TLS would hold this connection forever.
    try {
      await withDeadline(
        client.startTLS(tlsOptions(cfg, target.host)),
        cfg.connect_timeout,
        `StartTLS not completed within ${cfg.connect_timeout} ms`,
      )
    } catch (err) {
      // Nothing to unbind politely on a half-upgraded connection: close the socket.
      socket.destroy()
      throw err
    }
  }
  return client
}

/** The longest openServer() may take: the connection, then the StartTLS exchange, each within connect_timeout. */
export function openServerMs(cfg: DirectoryConfig): number {
  return cfg.connect_timeout * (cfg.starttls ? 2 : 1)
}

/** Open one connection to `url` (TCP or TLS, then StartTLS when configured). */
export async function openServer(url: string, cfg: DirectoryConfig): Promise<Client> {
  return openOn(parseServerUrl(url), cfg)
}

/**
 * Connect to the first server that answers, in the order `servers` gives (up
 * servers first); a server that cannot be reached is marked down. `prepare`
 * (the service-account bind) runs on each new connection: when it fails, that
 * server is marked down too and the next one is tried, so one replica that
 * refuses the service account does not stop the others from serving.
 */
export async function openClient(
  cfg: DirectoryConfig,
  servers: ServerSet,
  prepare?: { what: string; run: (client: Client) => Promise<void> },
): Promise<{ client: Client; url: string }> {
  const failures: string[] = []
  for (const url of servers.candidates()) {
    let client: Client
    try {
      client = await openServer(url, cfg)
    } catch (err) {
      failures.push(`${url}: ${(err as Error).message}`)
      servers.markDown(url, `connect failed: ${(err as Error).message}`)
      continue
    }
    if (!prepare) return { client, url }
    try {
      await prepare.run(client)
      return { client, url }
    } catch (err) {
      await client.unbind().catch(() => undefined)
      const detail = describeLdapError(err)
      failures.push(`${url}: ${prepare.what} failed: ${detail}`)
      servers.markDown(url, `${prepare.what} failed: ${detail}`)
    }
  }
  throw new DirectoryUnavailableError(`no directory server usable (${failures.join('; ')})`)
}
