import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')

/** Every `.ts` file under `dir`, and the files of ours each one imports (type-only imports too). */
function importGraph(dir: string): Map<string, string[]> {
  const files = readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f))
  const graph = new Map<string, string[]>()
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8')
    const specifiers = [...text.matchAll(/\b(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map(
      (m) => m[1] ?? '',
    )
    graph.set(
      file,
      specifiers.map((s) => relative(root, resolve(root, dirname(file), s))),
    )
  }
  return graph
}

/** Each import cycle once, as the files along it, starting from its first file in name order. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found = new Map<string, string[]>()
  const done = new Set<string>()
  const visit = (file: string, path: string[]) => {
    const at = path.indexOf(file)
    if (at >= 0) {
      const cycle = path.slice(at)
      const first = cycle.indexOf([...cycle].sort()[0] ?? '')
      const rotated = [...cycle.slice(first), ...cycle.slice(0, first)]
      found.set(rotated.join(' → '), rotated)
      return
    }
    if (done.has(file)) return
    for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...path, file])
    done.add(file)
  }
  for (const file of graph.keys()) visit(file, [])
  return [...found.values()]
}

describe('imports', () => {
  it('store/ has no import cycle', () => {
    expect(cycles(importGraph('store'))).toEqual([])
  })

  it('the check finds a cycle when there is one', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ])
    expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts']])
  })
})
