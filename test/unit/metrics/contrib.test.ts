// The dashboard (contrib/grafana) and the alert rules (contrib/prometheus) query only
// series the plugins export (lib/metrics/catalog, with a histogram's _bucket/_sum/_count),
// and every exported metric has a panel.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import { exportedSeriesNames, METRICS } from '../../../lib/metrics/catalog'
import { REPO } from '../../harness/paths'

/** Series Prometheus makes itself that a rule may use: `up` of the scrape job. */
const PROMETHEUS_SERIES = new Set(['up'])

const KEYWORDS = new Set(
  'by without on ignoring group_left group_right offset bool and or unless sum min max avg count stddev stdvar topk bottomk quantile count_values group inf nan'.split(
    ' ',
  ),
)

/** The metric names a PromQL expression selects. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges, [$__rate_interval]
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
  const names: string[] = []
  for (const m of stripped.matchAll(/(?<![\w$.])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    if (m[2]) continue // a function
    if (KEYWORDS.has(m[1]!.toLowerCase()) || /^\d/.test(m[1]!)) continue
    names.push(m[1]!)
  }
  return names
}

/** The expr: of every rule in a Prometheus rules file (a one-line value or a `|` block). */
export function ruleExpressions(yaml: string): string[] {
  const lines = yaml.split('\n')
  const out: string[] = []
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)(?:- )?expr:\s*(.*)$/.exec(lines[i]!)
    if (!m) continue
    if (m[2] !== '|' && m[2] !== '>') {
      out.push(m[2]!)
      continue
    }
    const indent = m[1]!.length
    const block: string[] = []
    for (
      i++;
      i < lines.length && (lines[i]!.trim() === '' || /^\s*/.exec(lines[i]!)![0].length > indent);
      i++
    )
      block.push(lines[i]!)
    i--
    out.push(block.join('\n'))
  }
  return out
}

function dashboardExpressions(file: string): string[] {
  const dash = JSON.parse(readFileSync(file, 'utf8')) as { panels: { targets?: { expr?: string }[] }[] }
  return dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')).filter(Boolean)
}

const GRAFANA = path.join(REPO, 'contrib/grafana')
const DASHBOARDS = readdirSync(GRAFANA).filter((f) => f.endsWith('.json'))
const ALERTS = path.join(REPO, 'contrib/prometheus/alerts.yml')

describe('contrib: dashboard and alert rules', () => {
  test('the name finder finds names, and only names', () => {
    assert.deepEqual(
      metricNames(
        'sum by (result) (rate(haraka_auth_attempts_total{result!="success",x="a_b"}[$__rate_interval])) / on(job) up > 0.5 and rate(x_seconds_sum[5m])',
      ),
      ['haraka_auth_attempts_total', 'up', 'x_seconds_sum'],
    )
    assert.deepEqual(
      ruleExpressions('- alert: A\n  expr: |\n    a_total\n    / b_total\n  for: 1m\n- expr: c > 1\n'),
      ['    a_total\n    / b_total', 'c > 1'],
    )
  })

  test('there is a dashboard, and alert rules with the four alerts the issue asks for', () => {
    assert.ok(DASHBOARDS.length >= 1)
    const rules = readFileSync(ALERTS, 'utf8')
    for (const name of ['FailureRatio', 'BansPerMinute', 'DirectoryServerDown', 'ContainmentAction'])
      assert.match(rules, new RegExp(`alert: \\w*${name}`))
  })

  const exported = exportedSeriesNames()
  for (const file of [...DASHBOARDS.map((f) => path.join(GRAFANA, f)), ALERTS]) {
    test(`${path.relative(REPO, file)} queries only exported series`, () => {
      const exprs = file.endsWith('.json')
        ? dashboardExpressions(file)
        : ruleExpressions(readFileSync(file, 'utf8'))
      assert.ok(exprs.length > 0)
      for (const expr of exprs) {
        const names = metricNames(expr)
        assert.ok(names.length > 0, `no metric in ${expr}`)
        for (const n of names)
          assert.ok(exported.has(n) || PROMETHEUS_SERIES.has(n), `${n} (in ${expr.trim()}) is not exported`)
      }
    })
  }

  test('the check can fail: a misspelt name is caught', () => {
    const names = metricNames('rate(haraka_auth_attempt_total[5m])')
    assert.ok(names.some((n) => !exported.has(n)))
  })

  test('every exported metric has a dashboard panel', () => {
    const used = new Set(
      DASHBOARDS.flatMap((f) => dashboardExpressions(path.join(GRAFANA, f)).flatMap(metricNames)),
    )
    for (const m of METRICS) {
      const forms = [m.name, `${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`]
      assert.ok(
        forms.some((f) => used.has(f)),
        `${m.name} has no panel`,
      )
    }
  })
})
