// node dist/bench/cpu_profile.js <file.cpuprofile> [top]: self time by function and
// by file of a V8 CPU profile (as written by `node --cpu-prof`, e.g. BENCH_PROFILE=dir).
import { readFileSync } from 'node:fs'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

const [file, topArg] = process.argv.slice(2)
if (!file) throw new Error('usage: cpu_profile <file.cpuprofile> [top]')
const top = Number(topArg ?? 40)
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
const byFn = new Map<string, number>()
const byFile = new Map<string, number>()
const short = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\/(?!.*\/node_modules\/)/, 'nm/')
    .replace(/^\/.*?\/dist\//, 'dist/')
for (const n of profile.nodes) {
  const us = selfUs.get(n.id) ?? 0
  if (!us) continue
  const url = short(n.callFrame.url) || '(native)'
  const fn = `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`
  byFn.set(fn, (byFn.get(fn) ?? 0) + us)
  byFile.set(url, (byFile.get(url) ?? 0) + us)
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`)
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(
      `${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`,
    )
}
console.log(`total sampled ${(total / 1000).toFixed(0)} ms`)
show('self time by file', byFile)
show('self time by function', byFn)
