import { readFileSync } from 'node:fs'
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml'
import type { z } from 'zod'
import { ConfigError } from './errors.ts'

/**
 * Reads one YAML configuration file and validates it. Every problem is reported with the file, the
 * line and what is wrong, and stops start-up: configuration that silently means something else would
 * mislead everyone who reads what it produces. `check` adds rules that need the parsed whole (a stage
 * that must exist in a flow); it returns problems as a path and a message.
 */
export function readYamlConfig<S extends z.ZodType>(
  file: string,
  schema: S,
  check: (value: z.output<S>) => Array<{ path: Array<string | number>; message: string }> = () => [],
): z.output<S> {
  const text = readFileSync(file, 'utf8')
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter })
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`),
    )
  }
  const lineOf = (path: ReadonlyArray<PropertyKey>) => {
    const node = doc.getIn(path as Array<string | number>, true) as { range?: [number] } | undefined
    const parent = doc.getIn(path.slice(0, -1) as Array<string | number>, true)
    const at =
      node?.range?.[0] ?? ((isMap(parent) || isSeq(parent)) && parent.range ? parent.range[0] : undefined)
    return at === undefined ? '?' : lineCounter.linePos(at).line
  }
  const problem = (path: ReadonlyArray<PropertyKey>, message: string) =>
    `${file}:${lineOf(path)}: ${path.map(String).join('.') || '(root)'}: ${message}`
  const parsed = schema.safeParse(doc.toJS() ?? {})
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => problem(i.path, i.message)))
  const problems = check(parsed.data)
  if (problems.length > 0) throw new ConfigError(problems.map((p) => problem(p.path, p.message)))
  return parsed.data
}
