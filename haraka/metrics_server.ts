// The metrics listener (auth_metrics.ini): GET <path> answers the metrics text, from
// a function the plugin chooses (this process's registry, or the master's sum over
// the workers); optional basic auth; anything else is 404 or 405. Only node:http.
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { MetricsConfig } from '../lib/metrics/config'
import { contentTypeFor } from './metrics'

export type Scrape = (contentType: string) => Promise<string>

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest()

/** Whether an Authorization header carries user:password (compared in constant time). */
export function basicAuthOk(header: string | undefined, user: string, password: string): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '')
  if (!m) return false
  const given = Buffer.from(m[1]!, 'base64').toString('utf8')
  return timingSafeEqual(digest(given), digest(`${user}:${password}`))
}

export function handler(
  cfg: Pick<MetricsConfig, 'path' | 'user' | 'secret'>,
  scrape: Scrape,
  onError: (err: Error) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = (req.url ?? '/').split('?')[0]
    const plain = (code: number, text: string, headers: Record<string, string> = {}) => {
      res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', ...headers })
      res.end(req.method === 'HEAD' ? undefined : `${text}\n`)
    }
    if (cfg.user && !basicAuthOk(req.headers.authorization, cfg.user, cfg.secret))
      return plain(401, 'Unauthorized', { 'WWW-Authenticate': 'Basic realm="metrics", charset="UTF-8"' })
    if (url !== cfg.path) return plain(404, 'Not Found')
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return plain(405, 'Method Not Allowed', { Allow: 'GET, HEAD' })
    const type = contentTypeFor(req.headers.accept)
    scrape(type).then(
      (body) => {
        res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' })
        res.end(req.method === 'HEAD' ? undefined : body)
      },
      (err: Error) => {
        onError(err)
        plain(503, `metrics unavailable: ${err.message}`)
      },
    )
  }
}

/** Listen as configured; resolves once listening (rejects when the address cannot be had). */
export function startMetricsServer(
  cfg: MetricsConfig,
  scrape: Scrape,
  onError: (err: Error) => void,
): Promise<Server> {
  const address = cfg.address
  if (!address) return Promise.reject(new Error('no listen address'))
  const server = createServer(handler(cfg, scrape, onError))
  server.headersTimeout = 10_000
  server.requestTimeout = 30_000
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(address.port, address.host, () => {
      server.off('error', reject)
      server.on('error', onError)
      resolve(server)
    })
  })
}
