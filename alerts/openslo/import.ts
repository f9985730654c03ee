import { parseAllDocuments, stringify } from 'yaml'
import { ConfigError } from '../../core/errors.ts'
import type { FlowDefinition } from '../../core/flows.ts'
import { sloDocumentProblems } from '../spec.ts'
import { ANNOTATIONS, API_VERSION, serviceOf } from './export.ts'
import { Fields, isObject } from './fields.ts'
import { readIndicator } from './indicator.ts'
import { readAlertPolicies, readObjective, readTimeWindow } from './objective.ts'

/**
 * `slos.yaml` from OpenSLO v1 documents (the inverse of export.ts). What Signalbox cannot do is an
 * error naming the field (a Prometheus metric source, time-slice budgeting, two objectives); what it
 * keeps no place for (a display name, another tool's annotation, an alert policy of other windows)
 * is a warning naming it. The result is checked as `slos.yaml` is at start, flows included.
 */

type RawSlo = Record<string, unknown>

export interface OpenSloImport {
  /** `slos.yaml` as a document: SLO id → settings as written. */
  readonly slos: Record<string, RawSlo>
  readonly warnings: readonly string[]
}

const IGNORED_KINDS: Record<string, string> = {
  Service: 'Signalbox names the service from the SLI (its flow, connector or system)',
  AlertNotificationTarget: "where alerts go is alerts.yaml's routing tree",
}

interface Objects {
  readonly byKind: Map<string, Map<string, Fields>>
}

const idOf = (name: string) => name.replaceAll('-', '_')

/** Reads OpenSLO v1 YAML (one or more documents). Throws a ConfigError listing every problem. */
export function importOpenSlo(
  text: string,
  flows: ReadonlyMap<string, FlowDefinition>,
  source = 'input',
): OpenSloImport {
  const problems: string[] = []
  const warnings: string[] = []
  const docs = parseAllDocuments(text)
  const parsed = Array.isArray(docs) ? docs : [docs]
  for (const d of parsed)
    for (const e of d.errors)
      problems.push(`${source}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`)
  if (problems.length > 0) throw new ConfigError(problems)

  const objects: Objects = { byKind: new Map() }
  for (const [i, d] of parsed.entries()) {
    const doc = d.toJS()
    if (doc === null || doc === undefined) continue
    const where = `${source}: document ${i + 1}`
    if (!isObject(doc)) {
      problems.push(`${where}: not an OpenSLO object`)
      continue
    }
    if (doc.apiVersion !== API_VERSION) {
      problems.push(`${where}: apiVersion '${String(doc.apiVersion)}' is not supported; use ${API_VERSION}`)
      continue
    }
    const kind = String(doc.kind)
    const name = isObject(doc.metadata) ? String(doc.metadata.name ?? '') : ''
    if (!name) problems.push(`${where}: metadata.name is required`)
    if (IGNORED_KINDS[kind]) {
      warnings.push(`${kind} '${name}' is not imported: ${IGNORED_KINDS[kind]}`)
      continue
    }
    if (!['SLO', 'SLI', 'AlertPolicy', 'AlertCondition', 'DataSource'].includes(kind)) {
      problems.push(`${where}: kind '${kind}' is not an OpenSLO v1 kind Signalbox reads`)
      continue
    }
    const ofKind = objects.byKind.get(kind) ?? new Map<string, Fields>()
    if (ofKind.has(name)) problems.push(`${where}: a second ${kind} named '${name}'`)
    ofKind.set(name, new Fields(doc, kind === 'SLO' ? '' : `${kind} ${name}`))
    objects.byKind.set(kind, ofKind)
  }

  const slos: Record<string, RawSlo> = {}
  for (const [name, slo] of objects.byKind.get('SLO') ?? []) {
    const result = readSlo(slo, objects, warnings)
    problems.push(...result.problems.map((p) => `SLO ${name}: ${p}`))
    if (result.slo) slos[idOf(name)] = result.slo
  }
  if (problems.length === 0 && Object.keys(slos).length === 0) problems.push(`${source}: no SLO documents`)
  if (problems.length === 0)
    problems.push(...sloDocumentProblems(slos, flows).map((p) => `as slos.yaml: ${p}`))
  if (problems.length > 0) throw new ConfigError(problems)
  return { slos, warnings }
}

/** The imported SLOs as a `slos.yaml` file. */
export function slosYaml(result: OpenSloImport, source: string): string {
  return `# Imported from OpenSLO (${source}) by \`signalbox slo import\`.\n\n${stringify(result.slos, { lineWidth: 0 })}`
}

function readSlo(slo: Fields, objects: Objects, warnings: string[]): { slo?: RawSlo; problems: string[] } {
  const problems: string[] = []
  slo.get('apiVersion')
  slo.get('kind')
  const metadata = slo.fields('metadata')
  const name = String(metadata.get('name'))
  const id = idOf(name)
  if (!/^[a-z][a-z0-9_]*$/.test(id))
    problems.push(
      `metadata.name: '${name}' does not make a Signalbox SLO id (lower-case letters, digits, dashes)`,
    )
  if (metadata.get('displayName') !== undefined)
    warnings.push(`SLO ${name}: metadata.displayName is not kept`)
  const labels = readLabels(metadata.get('labels'), problems)
  const extra = readAnnotations(metadata.get('annotations'), problems, (key) =>
    warnings.push(`SLO ${name}: metadata.annotations.${key} is not kept`),
  )
  for (const field of metadata.unread()) warnings.push(`SLO ${name}: ${field} is not kept`)

  const spec = slo.fields('spec')
  const description = spec.get('description')
  const sli = readIndicator(spec, objects, problems, warnings, id)
  const service = spec.get('service')
  if (sli && service !== undefined && service !== serviceOf(sli))
    warnings.push(
      `SLO ${name}: spec.service '${String(service)}' is not kept (Signalbox names it '${serviceOf(sli)}')`,
    )
  const window = readTimeWindow(spec.get('timeWindow'), problems)
  const method = spec.get('budgetingMethod')
  if (method !== 'Occurrences')
    problems.push(
      `spec.budgetingMethod: '${String(method)}' is not supported; Signalbox counts good and total events (Occurrences)`,
    )
  const objective = readObjective(spec.get('objectives'), problems, (f) =>
    warnings.push(`SLO ${name}: ${f} is not kept`),
  )
  readAlertPolicies(spec.get('alertPolicies'), window, objects, (w) => warnings.push(`SLO ${name}: ${w}`))
  for (const field of spec.unread()) problems.push(`${field}: not supported`)

  if (description === undefined)
    warnings.push(`SLO ${name}: spec.description is missing; its name is used as the description`)
  if (problems.length > 0 || !sli) return { problems }
  return {
    problems,
    slo: {
      description: description ?? name,
      sli,
      objective,
      window,
      ...extra,
      ...(labels ? { labels } : {}),
    },
  }
}

function readLabels(value: unknown, problems: string[]): Record<string, string> | undefined {
  if (value === undefined) return undefined
  if (!isObject(value)) {
    problems.push('metadata.labels: a map of label names to values')
    return undefined
  }
  for (const [k, v] of Object.entries(value))
    if (typeof v !== 'string')
      problems.push(`metadata.labels.${k}: Signalbox labels take one value, not a list`)
  return value as Record<string, string>
}

/** Signalbox's own annotations become settings; another tool's are named as not kept. */
function readAnnotations(value: unknown, problems: string[], notKept: (key: string) => void): RawSlo {
  const out: RawSlo = {}
  if (!isObject(value)) return out
  for (const [key, v] of Object.entries(value)) {
    const text = String(v)
    if (key === ANNOTATIONS.dependsOn)
      out.depends_on = text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    else if (key === ANNOTATIONS.minEvents) {
      if (/^\d+$/.test(text)) out.min_events = Number(text)
      else problems.push(`metadata.annotations.${key}: a whole number, not '${text}'`)
    } else if (key === ANNOTATIONS.unit) out.unit = text
    else if (key.startsWith('signalbox.io/'))
      problems.push(`metadata.annotations.${key}: not a Signalbox annotation`)
    else notKept(key)
  }
  return out
}
