// The metrics of lib/metrics/catalog as prom-client metrics, in one registry per
// process. haraka/record feeds it every decision (countDecision, countSummary); the
// directory layer its requests, server states and pools (ldapMetrics, an
// lib/ldap/observer); the credential cache its lookups. The auth_metrics plugin
// serves it: in one process, this registry; under Haraka's cluster mode (smtp.ini
// nodes>1), the master asks every worker for its registry and sums them
// (collectWorkers, answerMaster). Counting never throws into the hook that decided.
import cluster from 'node:cluster'
import { createRequire } from 'node:module'
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { OpenMetricsContentType, RegistryContentType } from 'prom-client'
import type { CacheLookupOutcome } from '../lib/authn/cache'
import type { Decision, PluginName } from '../lib/decisions'
import type { LdapObserver, PoolState } from '../lib/ldap/observer'
import {
  METRICS,
  metricsOf,
  metricsOfSummary,
  type AuthContext,
  type MetricName,
  type MetricSpec,
  type MetricUpdate,
} from '../lib/metrics/catalog'

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>

const OPENMETRICS = Registry.OPENMETRICS_CONTENT_TYPE
const PROMETHEUS = Registry.PROMETHEUS_CONTENT_TYPE

export const registry = new Registry<OpenMetricsContentType>()
registry.setContentType(OPENMETRICS)

/** prom-client's aggregate, with the content type argument its typings leave out. */
const aggregate = AggregatorRegistry.aggregate as unknown as (
  metrics: object[],
  contentType: RegistryContentType,
) => Registry<RegistryContentType>
const byName = new Map<string, AnyMetric>()

const poolSources = new Set<() => PoolState[]>()
const gaugeSources = new Map<string, () => number | Promise<number>>()

function create(spec: MetricSpec): AnyMetric {
  const common = {
    name: spec.name,
    help: spec.help,
    labelNames: [...spec.labels],
    registers: [registry],
    aggregator: spec.aggregator ?? 'sum',
  }
  if (spec.type === 'counter') return new Counter(common)
  if (spec.type === 'histogram') return new Histogram({ ...common, buckets: [...(spec.buckets ?? [])] })
  if (spec.name === 'haraka_ldap_pool_connections')
    return new Gauge({
      ...common,
      collect() {
        // summed over every source; inc by 0 still makes the series
        this.reset()
        for (const read of poolSources)
          for (const p of read())
            for (const state of ['busy', 'idle', 'waiting'] as const)
              this.inc({ pool: p.pool, state }, p[state])
      },
    })
  if (spec.labels.length === 0)
    return new Gauge({
      ...common,
      // prom-client awaits an async collect; a read that fails leaves the last value
      async collect() {
        const read = gaugeSources.get(spec.name)
        if (!read) return
        try {
          this.set(await read())
        } catch {
          // the store did not answer: no fresh value this scrape
        }
      },
    })
  return new Gauge(common)
}

for (const spec of METRICS as readonly MetricSpec[]) byName.set(spec.name, create(spec))

/** A package's version; `../../package.json` from dist/haraka is ours (the repository's, or the installed core's). */
function versionOf(spec: string): string {
  try {
    return String((createRequire(__filename)(spec) as { version?: unknown }).version ?? 'unknown')
  } catch {
    return 'unknown'
  }
}
;(byName.get('haraka_ldap_submission_build_info') as Gauge<string>).set(
  {
    version: versionOf('../../package.json'),
    node_version: process.version,
    haraka_version: versionOf('Haraka/package.json'),
  },
  1,
)

/** Apply updates; a mistake here is swallowed (and counted nowhere): metrics never break a hook. */
export function apply(updates: readonly MetricUpdate[]): void {
  for (const u of updates) {
    try {
      const m = byName.get(u.name)
      if (!m) continue
      if (u.kind === 'observe') (m as Histogram<string>).observe(u.labels, u.value)
      else (m as Counter<string>).inc(u.labels, u.by ?? 1)
    } catch {
      // a label the catalog does not declare: a bug, never the client's doing
    }
  }
}

/** A recorded decision (haraka/record). `auth`: an AUTH decision's mechanism and Date.now() at the AUTH command. */
export function countDecision(decision: Decision, auth?: { mechanism?: string; startedAt?: number }): void {
  let ctx: AuthContext | undefined
  if (auth) {
    ctx = { mechanism: auth.mechanism }
    if (auth.startedAt !== undefined) ctx.seconds = Math.max(0, Date.now() - auth.startedAt) / 1000
  }
  apply(metricsOf(decision, ctx))
}

/** A summary entry (haraka/record's recordSummary). */
export function countSummary(plugin: PluginName | string, entry: Record<string, unknown>): void {
  apply(metricsOfSummary(plugin as PluginName, entry))
}

export function countCacheLookup(outcome: CacheLookupOutcome): void {
  apply([{ kind: 'inc', name: 'haraka_auth_cache_lookups_total', labels: { outcome } }])
}

/** The directory layer's observer: every DirectoryHandle of our plugins gets it. */
export const ldapMetrics: LdapObserver = {
  request(e) {
    apply([
      {
        kind: 'inc',
        name: 'haraka_ldap_requests_total',
        labels: { server: e.server, operation: e.operation, outcome: e.outcome },
      },
      ...(e.server === 'none'
        ? []
        : [
            {
              kind: 'observe' as const,
              name: 'haraka_ldap_request_duration_seconds' as const,
              labels: { server: e.server, operation: e.operation },
              value: e.seconds,
            },
          ]),
    ])
  },
  server(e) {
    try {
      ;(byName.get('haraka_ldap_server_up') as Gauge<string>).set({ server: e.server }, e.up ? 1 : 0)
    } catch {
      // never
    }
  },
  pools(read) {
    poolSources.add(read)
    return () => poolSources.delete(read)
  },
}

/**
 * A gauge without labels whose value another module knows (the limiter's active bans):
 * read at every scrape, synchronously or not (a shared store is asked). Returns the
 * function that stops reading it.
 */
export function gaugeSource(
  name: Extract<MetricName, 'haraka_limiter_active_bans' | 'haraka_shared_state_up'>,
  read: () => number | Promise<number>,
): () => void {
  gaugeSources.set(name, read)
  return () => {
    if (gaugeSources.get(name) === read) gaugeSources.delete(name)
  }
}

/** The content type to answer with: OpenMetrics, unless the scraper asks only for the Prometheus text format. */
export function contentTypeFor(accept: string | undefined): string {
  if (!accept || /application\/openmetrics-text/i.test(accept) || !/text\/plain/i.test(accept))
    return OPENMETRICS
  return PROMETHEUS
}

/**
 * Metrics as getMetricsAsJSON gives them, as text. prom-client names a counter's family
 * without `_total` in OpenMetrics and appends it to each sample, but only for a name it
 * has not seen yet: so the names are set here, for the format asked, before it writes them.
 */
function render(all: object[][], contentType: string): Promise<string> {
  const open = contentType === OPENMETRICS
  for (const metrics of all)
    for (const m of metrics as { name: string; type: string }[])
      if (m.type === 'counter') {
        const base = m.name.replace(/_total$/, '')
        m.name = open ? base : `${base}_total`
      }
  return aggregate(all.flat().length ? all : [[]], contentType as RegistryContentType).metrics()
}

/** This process's metrics as text. */
export async function localMetrics(contentType: string = OPENMETRICS): Promise<string> {
  return render([await registry.getMetricsAsJSON()], contentType)
}

// ---- cluster mode --------------------------------------------------------------

const REQUEST = 'haraka-ldap-submission:metrics?'
const RESPONSE = 'haraka-ldap-submission:metrics!'

interface Pending {
  answers: unknown[]
  waiting: Set<number>
  done: (err: Error | null) => void
}
const pending = new Map<number, Pending>()
let nextRequest = 0
let listening = false

function listenForAnswers(): void {
  if (listening) return
  listening = true
  cluster.on('message', (worker, msg: { type?: string; id?: number; metrics?: unknown; error?: string }) => {
    if (msg?.type !== RESPONSE || typeof msg.id !== 'number') return
    const p = pending.get(msg.id)
    if (!p || !p.waiting.has(worker.id)) return
    p.waiting.delete(worker.id)
    if (msg.error) return p.done(new Error(`worker ${worker.id}: ${msg.error}`))
    p.answers.push(msg.metrics)
    if (p.waiting.size === 0) p.done(null)
  })
}

/**
 * The master, under cluster mode: every worker's metrics, summed (each metric's
 * aggregator: server_up the lowest, build info the first). A worker that does not
 * answer within `timeoutMs` fails the scrape: a partial sum would look like counters
 * going backwards.
 */
export function collectWorkers(timeoutMs: number, contentType: string = OPENMETRICS): Promise<string> {
  listenForAnswers()
  const id = nextRequest++
  const workers = Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected())
  return new Promise<string>((resolve, reject) => {
    if (workers.length === 0) return reject(new Error('no worker is running'))
    const timer = setTimeout(
      () => p.done(new Error(`${p.waiting.size} worker(s) did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    )
    const p: Pending = {
      answers: [],
      waiting: new Set(workers.map((w) => w!.id)),
      done(err) {
        if (!pending.delete(id)) return
        clearTimeout(timer)
        if (err) return reject(err)
        try {
          resolve(render(p.answers as object[][], contentType))
        } catch (e) {
          reject(e as Error)
        }
      },
    }
    pending.set(id, p)
    for (const w of workers) w!.send({ type: REQUEST, id })
  })
}

let answering = false

/** A worker, under cluster mode: answer the master's requests with this registry (idempotent). */
export function answerMaster(): void {
  if (answering || !cluster.isWorker) return
  answering = true
  process.on('message', (msg: { type?: string; id?: number }) => {
    if (msg?.type !== REQUEST || typeof msg.id !== 'number' || !process.send) return
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: RESPONSE, id: msg.id, metrics }),
      (err: Error) => process.send?.({ type: RESPONSE, id: msg.id, error: err.message }),
    )
  })
}
