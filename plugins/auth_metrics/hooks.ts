// auth_metrics: serves the metrics of ldap_auth, auth_relay and auth_stamp (haraka/metrics,
// fed by haraka/record and the directory layer) as OpenMetrics text on the listener
// auth_metrics.ini configures; none by default. In one process (smtp.ini nodes unset or 0)
// that process serves its own counts. Under cluster mode the master, which handles no
// SMTP, serves the listener and sums what every worker answers (init_master, init_child).
import type { Server as HttpServer } from 'node:http'
import type { Next, Plugin } from 'haraka'
import { loadValidated } from '../../haraka/load_config'
import { answerMaster, collectWorkers, localMetrics } from '../../haraka/metrics'
import { startMetricsServer } from '../../haraka/metrics_server'
import { authMetricsIni, metricsWarnings, type MetricsConfig } from '../../lib/metrics/config'

interface AuthMetrics extends Plugin {
  cfg: MetricsConfig
  /** this process serves the listener (it ran init_master); `cluster`: by asking the workers */
  serving?: { cluster: boolean }
  http?: HttpServer
  load_auth_metrics_ini(): void
}

export function register(this: AuthMetrics): void {
  this.load_auth_metrics_ini()
  this.register_hook('init_master', 'start_listener')
  this.register_hook('init_child', 'answer_master')
}

export function load_auth_metrics_ini(this: AuthMetrics): void {
  const previous = this.cfg
  const ini = authMetricsIni(process.env.HARAKA ?? process.cwd())
  this.cfg = loadValidated(this, ini, () => this.load_auth_metrics_ini(), previous)
  if (this.cfg === previous) return
  for (const w of metricsWarnings(this.cfg)) this.logwarn(`auth_metrics.ini: ${w}`)
  // a reload: the process that serves moves its listener to the new address (or closes it)
  if (previous && this.serving) void listen(this)
}

/** init_master: the one process that serves (the only one, or the cluster master). */
export function start_listener(this: AuthMetrics, next: Next, server: { cluster?: unknown }): void {
  this.serving = { cluster: Boolean(server?.cluster) }
  listen(this).then(
    () => next(),
    () => next(),
  )
}

/** init_child: a cluster worker answers the master's requests for its counts. */
export function answer_master(this: AuthMetrics, next: Next): void {
  answerMaster()
  next()
}

async function listen(plugin: AuthMetrics): Promise<void> {
  await closeListener(plugin)
  const cfg = plugin.cfg
  if (!cfg.address) {
    plugin.loginfo('metrics listener off (auth_metrics.ini listen)')
    return
  }
  const scrape = plugin.serving?.cluster
    ? (type: string) => collectWorkers(cfg.scrape_timeout, type)
    : localMetrics
  const { host, port } = cfg.address
  const where = `http://${host.includes(':') ? `[${host}]` : host}:${port}${cfg.path}`
  try {
    plugin.http = await startMetricsServer(cfg, scrape, (err) =>
      plugin.logerror(`metrics listener: ${err.message}`),
    )
    const auth = cfg.user ? ', basic auth' : ''
    const from = plugin.serving?.cluster ? ', summed over the workers' : ''
    plugin.lognotice(`metrics on ${where}${auth}${from}`)
  } catch (err) {
    plugin.logerror(`metrics listener on ${where} not started: ${(err as Error).message}`)
  }
}

function closeListener(plugin: AuthMetrics): Promise<void> {
  const http = plugin.http
  plugin.http = undefined
  if (!http) return Promise.resolve()
  return new Promise((resolve) => {
    http.close(() => resolve())
    http.closeAllConnections()
  })
}

export async function shutdown(this: AuthMetrics): Promise<void> {
  await closeListener(this)
}
