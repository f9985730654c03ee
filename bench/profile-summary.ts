/**
 * Where a V8 CPU profile's time went: the functions by self time and by inclusive time (a function and
 * what it calls), in ms. For the measured all-in-one of a bench:
 *
 *   BENCH_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" BENCH_POINTS=64x512 npm run bench:ingest
 *   node --import tsx bench/profile-summary.ts /tmp/prof/CPU.*.cpuprofile   (the main thread's is the first)
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: readonly number[]
}
interface Profile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

const TOP = Number(process.env.TOP ?? 30)
const file = process.argv[2]
if (!file) throw new Error('usage: bench/profile-summary.ts <file.cpuprofile>')
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile

const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const name = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`

const sampled = new Map<number, number>()
for (const [i, id] of profile.samples.entries())
  sampled.set(id, (sampled.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
const self = new Map<string, number>()
const inclusive = new Map<string, number>()
let total = 0
for (const [id, us] of sampled) {
  total += us
  const leaf = byId.get(id) as ProfileNode
  self.set(name(leaf), (self.get(name(leaf)) ?? 0) + us)
  const counted = new Set<string>() // recursion counts a function once
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const key = name(byId.get(at) as ProfileNode)
    if (counted.has(key)) continue
    counted.add(key)
    inclusive.set(key, (inclusive.get(key) ?? 0) + us)
  }
}
const print = (title: string, times: Map<string, number>) => {
  console.log(`--- ${title}`)
  for (const [key, us] of [...times].sort((a, b) => b[1] - a[1]).slice(0, TOP))
    console.log(`${(us / 1000).toFixed(0).padStart(8)} ms  ${key}`)
}
console.log(`profile: ${(total / 1000).toFixed(0)} ms`)
print('self', self)
print('inclusive', inclusive)
