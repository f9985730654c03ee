import { SOURCE_TYPE } from './export.ts'
import { Fields, isObject, sameJson } from './fields.ts'

type Sli = Record<string, Record<string, unknown>>

interface Lookup {
  readonly byKind: ReadonlyMap<string, ReadonlyMap<string, Fields>>
}

/**
 * An SLO's SLI, inline (`indicator`) or by name (`indicatorRef`): a ratio of good to total events
 * whose metric sources are of type `signalbox`, both naming the same Signalbox SLI kind and settings.
 */
export function readIndicator(
  spec: Fields,
  objects: Lookup,
  problems: string[],
  warnings: string[],
  id: string,
): Sli | undefined {
  const inline = spec.get('indicator')
  const ref = spec.get('indicatorRef')
  let sli: Fields | undefined
  if (inline !== undefined && ref !== undefined)
    problems.push('spec: one of indicator or indicatorRef, not both')
  else if (inline !== undefined) sli = new Fields(inline, 'spec.indicator')
  else if (typeof ref === 'string') {
    sli = objects.byKind.get('SLI')?.get(ref)
    if (!sli) problems.push(`spec.indicatorRef: no SLI named '${ref}' in the input`)
  } else problems.push('spec: an indicator or indicatorRef is required')
  if (!sli) return undefined
  return readSli(sli, objects, problems, warnings, id)
}

function readSli(sli: Fields, objects: Lookup, problems: string[], warnings: string[], id: string) {
  sli.get('apiVersion')
  sli.get('kind')
  const metadata = sli.fields('metadata')
  metadata.get('name')
  for (const field of metadata.unread()) warnings.push(`SLO ${id}: ${field} is not kept`)
  const spec = sli.fields('spec')
  const description = spec.get('description')
  if (spec.get('thresholdMetric') !== undefined)
    problems.push(
      `${spec.at('thresholdMetric')}: not supported; Signalbox SLIs are ratios of good to total events`,
    )
  const ratio = spec.fields('ratioMetric')
  for (const field of spec.unread()) problems.push(`${field}: not supported`)
  if (Object.keys(ratio.value).length === 0) {
    problems.push(`${ratio.path}: required, with good and total from a metricSource of type ${SOURCE_TYPE}`)
    return undefined
  }
  ratio.get('counter')
  const good = source(ratio.fields('good'), 'good', objects, problems)
  const total = source(ratio.fields('total'), 'total', objects, problems)
  for (const field of ratio.unread())
    problems.push(`${field}: not supported; give good and total (Signalbox counts both)`)
  if (!good || !total) return undefined
  if (!sameJson(good, total)) {
    problems.push(`${ratio.path}: good and total name different Signalbox SLIs`)
    return undefined
  }
  const kind = Object.keys(good)[0]
  if (description !== undefined && description !== `Signalbox ${kind} SLI of ${id}`)
    warnings.push(`SLO ${id}: SLI spec.description is not kept`)
  return good
}

/** `{ metricSource: { type: signalbox, spec: { <kind>: settings, events: good|total } } }` → `{ <kind>: settings }`. */
function source(
  metric: Fields,
  events: 'good' | 'total',
  objects: Lookup,
  problems: string[],
): Sli | undefined {
  const ms = metric.fields('metricSource')
  for (const field of metric.unread()) problems.push(`${field}: not supported`)
  const where = ms.path
  if (Object.keys(ms.value).length === 0) {
    problems.push(`${where}: required`)
    return undefined
  }
  const ref = ms.get('metricSourceRef')
  const type =
    ms.get('type') ??
    (typeof ref === 'string'
      ? objects.byKind.get('DataSource')?.get(ref)?.fields('spec').get('type')
      : undefined)
  const spec = ms.get('spec')
  for (const field of ms.unread()) problems.push(`${field}: not supported`)
  if (String(type).toLowerCase() !== SOURCE_TYPE) {
    problems.push(
      `${where}.type: '${String(type)}' is not supported; Signalbox computes its SLIs from its own telemetry (type ${SOURCE_TYPE}, spec naming an SLI kind of slos.yaml)`,
    )
    return undefined
  }
  if (!isObject(spec)) {
    problems.push(`${where}.spec: an SLI kind of slos.yaml with its settings, and events: ${events}`)
    return undefined
  }
  const { events: counted, ...sli } = spec
  if (counted !== events) problems.push(`${where}.spec.events: '${events}' here, not '${String(counted)}'`)
  const kinds = Object.keys(sli)
  if (kinds.length !== 1) {
    problems.push(`${where}.spec: exactly one SLI kind (such as flow_latency), not ${kinds.length}`)
    return undefined
  }
  return sli as Sli
}
