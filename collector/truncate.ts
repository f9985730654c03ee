import type { Attributes, LogRecord, Resource, SpanRecord } from './otlp/model.ts'

/*
 * Attribute values beyond a length are cut, as the OpenTelemetry SDKs' AttributeValueLengthLimit
 * does, and counted. One huge value would otherwise cost every step after it (redaction, the row,
 * the store) and every read that returns it.
 */

/** Cuts at `max` UTF-16 units without splitting a surrogate pair. */
export function cut(value: string, max: number): string {
  if (value.length <= max) return value
  const code = value.charCodeAt(max - 1)
  return value.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max)
}

/** Truncates records' long values and counts them (`truncated`). One instance per request. */
export class Truncator {
  private readonly resources = new Map<Resource, Resource>()
  truncated = 0

  constructor(private readonly max: number) {}

  private text(value: string): string {
    if (value.length <= this.max) return value
    this.truncated++
    return cut(value, this.max)
  }

  private attributes(attrs: Attributes): Attributes {
    let copy: Attributes | undefined
    for (const k in attrs) {
      const v = attrs[k] as string
      if (v.length > this.max) {
        copy ??= { ...attrs }
        copy[k] = this.text(v)
      }
    }
    return copy ?? attrs
  }

  /** Resources are shared by the spans under them: each is looked at once. */
  private resource(r: Resource): Resource {
    let out = this.resources.get(r)
    if (!out) {
      const attributes = this.attributes(r.attributes)
      out = attributes === r.attributes ? r : { ...r, attributes }
      this.resources.set(r, out)
    }
    return out
  }

  span(s: SpanRecord): SpanRecord {
    const resource = this.resource(s.resource)
    const attributes = this.attributes(s.attributes)
    const events = this.each(s.events)
    const links = this.each(s.links)
    const name = this.text(s.name)
    const statusMessage = this.text(s.statusMessage)
    const same =
      resource === s.resource &&
      attributes === s.attributes &&
      events === s.events &&
      links === s.links &&
      name === s.name &&
      statusMessage === s.statusMessage
    return same ? s : { ...s, resource, attributes, events, links, name, statusMessage }
  }

  /** Span events or links with their attributes cut; the same array when none was. */
  private each<T extends { readonly attributes: Attributes }>(items: readonly T[]): readonly T[] {
    let out: T[] | undefined
    for (const [i, item] of items.entries()) {
      const attributes = this.attributes(item.attributes)
      if (attributes !== item.attributes) {
        out ??= [...items]
        out[i] = { ...item, attributes }
      }
    }
    return out ?? items
  }

  log(l: LogRecord): LogRecord {
    const resource = this.resource(l.resource)
    const attributes = this.attributes(l.attributes)
    if (resource === l.resource && attributes === l.attributes && l.body.length <= this.max) return l
    return { ...l, resource, attributes, body: this.text(l.body) }
  }
}
