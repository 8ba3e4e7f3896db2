// node dist/bench/cpu_profile.js <file.cpuprofile> [top] [sessions]: self time by
// function, by file and by package of a V8 CPU profile (as written by `node
// --cpu-prof`, e.g. BENCH_PROFILE=dir). With `sessions` (bench:haraka prints how many
// a profiled instance served) each line also shows µs per session. In the package
// view, native time (a socket write, a hash) is charged to the package whose
// JavaScript called it: that is where a cut would have to be made. A profile samples
// wall time: a thread descheduled inside a syscall counts too, so on a loaded machine
// compare packages between targets of the same run, not with /proc CPU time.
import { readFileSync } from 'node:fs'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

const [file, topArg, sessionsArg] = process.argv.slice(2)
if (!file) throw new Error('usage: cpu_profile <file.cpuprofile> [top] [sessions]')
const top = Number(topArg ?? 40)
const sessions = Number(sessionsArg ?? 0)
const profile = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}
const selfUs = new Map<number, number>()
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const total = [...selfUs.values()].reduce((a, b) => a + b, 0)
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const byFn = new Map<string, number>()
const byFile = new Map<string, number>()
const byPackage = new Map<string, number>()
const short = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\/(?!.*\/node_modules\/)/, 'nm/')
    .replace(/^\/.*?\/dist\//, 'dist/')
/** `dist/lib/x.js` → ours (lib), `nm/ldapts/...` → ldapts, `node:net` → node, '' → '' */
const packageOf = (url: string): string => {
  const u = short(url)
  if (!u) return ''
  if (u.startsWith('dist/')) return `ours (${u.split('/')[1]})`
  if (u.startsWith('nm/')) {
    const parts = u.slice(3).split('/')
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!
  }
  if (u.startsWith('node:')) return u.replace(/^node:(internal\/)?/, 'node:').split('/')[0]!
  return u
}
const IDLE = new Set(['(idle)', '(program)', '(garbage collector)'])
for (const n of profile.nodes) {
  const us = selfUs.get(n.id) ?? 0
  if (!us) continue
  const url = short(n.callFrame.url) || '(native)'
  const fn = `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`
  byFn.set(fn, (byFn.get(fn) ?? 0) + us)
  byFile.set(url, (byFile.get(url) ?? 0) + us)
  let pkg = packageOf(n.callFrame.url)
  if (!pkg && IDLE.has(n.callFrame.functionName)) pkg = n.callFrame.functionName
  // native code: the nearest caller outside node's own streams/net layers
  for (let p = parent.get(n.id); !pkg || (pkg.startsWith('node:') && p !== undefined); p = parent.get(p!)) {
    if (p === undefined) break
    const up = packageOf(byId.get(p)!.callFrame.url)
    if (!pkg || !up.startsWith('node:')) pkg = up || pkg
    if (up && !up.startsWith('node:')) break
  }
  pkg ||= '(native, no caller)'
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us)
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`)
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(
      `${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms${
        sessions ? `  ${(us / sessions).toFixed(1).padStart(7)} µs/session` : ''
      }  ${k}`,
    )
}
console.log(`total sampled ${(total / 1000).toFixed(0)} ms${sessions ? `, ${sessions} sessions` : ''}`)
show('self time by package (native time charged to its JavaScript caller)', byPackage)
show('self time by file', byFile)
show('self time by function', byFn)
