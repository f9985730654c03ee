import {
  type Attributes,
  type LogRecord,
  type Resource,
  type Scope,
  SERVICE_NAME,
  type SpanRecord,
} from './otlp/model.ts'

/*
 * Every text a sender controls is cut beyond a length, as the OpenTelemetry SDKs'
 * AttributeValueLengthLimit does for values, and counted: values, but also names, keys, scopes and
 * trace states. One huge value would otherwise cost every step after it (redaction, the row, the
 * store) and every read that returns it; a huge scope or service name is copied into every row under it.
 */

/** Cuts at `max` UTF-16 units without splitting a surrogate pair. */
export function cut(value: string, max: number): string {
  if (value.length <= max) return value
  const code = value.charCodeAt(max - 1)
  return value.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max)
}

/** Truncates records' long texts and counts them (`truncated`). One instance per request. */
export class Truncator {
  /** Resources and scopes are shared by the records under them: each is looked at once. */
  private readonly resources = new Map<Resource, Resource>()
  private readonly scopes = new Map<Scope, Scope>()
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
      if (k.length > this.max) {
        copy ??= { ...attrs }
        delete copy[k]
        const key = this.text(k)
        // A cut key that names one already there (sent whole, or cut before it) is dropped: it must not
        // replace a value sent under that name. The copy holds every key sent, so the first one wins.
        if (!Object.hasOwn(copy, key)) copy[key] = this.text(v)
      } else if (v.length > this.max) {
        copy ??= { ...attrs }
        copy[k] = this.text(v)
      }
    }
    return copy ?? attrs
  }

  private resource(r: Resource): Resource {
    let out = this.resources.get(r)
    if (!out) {
      const attributes = this.attributes(r.attributes)
      // The service name is read from the attributes: it is what they now say, cut like them.
      out =
        attributes === r.attributes && r.serviceName.length <= this.max
          ? r
          : { attributes, serviceName: attributes[SERVICE_NAME] ?? cut(r.serviceName, this.max) }
      this.resources.set(r, out)
    }
    return out
  }

  private scope(s: Scope): Scope {
    let out = this.scopes.get(s)
    if (!out) {
      const name = this.text(s.name)
      const version = this.text(s.version)
      out = name === s.name && version === s.version ? s : { name, version }
      this.scopes.set(s, out)
    }
    return out
  }

  span(s: SpanRecord): SpanRecord {
    const resource = this.resource(s.resource)
    const scope = this.scope(s.scope)
    const attributes = this.attributes(s.attributes)
    const events = this.each(s.events, 'name')
    const links = this.each(s.links, 'traceState')
    const name = this.text(s.name)
    const traceState = this.text(s.traceState)
    const statusMessage = this.text(s.statusMessage)
    const same =
      resource === s.resource &&
      scope === s.scope &&
      attributes === s.attributes &&
      events === s.events &&
      links === s.links &&
      name === s.name &&
      traceState === s.traceState &&
      statusMessage === s.statusMessage
    return same ? s : { ...s, resource, scope, attributes, events, links, name, traceState, statusMessage }
  }

  /** Span events or links with their attributes and one text field cut; the same array when none was. */
  private each<T extends { readonly attributes: Attributes }, K extends keyof T & string>(
    items: readonly T[],
    field: K,
  ): readonly T[] {
    let out: T[] | undefined
    for (const [i, item] of items.entries()) {
      const attributes = this.attributes(item.attributes)
      const text = item[field] as string
      const cutText = this.text(text)
      if (attributes !== item.attributes || cutText !== text) {
        out ??= [...items]
        out[i] = { ...item, attributes, [field]: cutText }
      }
    }
    return out ?? items
  }

  log(l: LogRecord): LogRecord {
    const resource = this.resource(l.resource)
    const scope = this.scope(l.scope)
    const attributes = this.attributes(l.attributes)
    const body = this.text(l.body)
    const severityText = this.text(l.severityText)
    const eventName = this.text(l.eventName)
    const same =
      resource === l.resource &&
      scope === l.scope &&
      attributes === l.attributes &&
      body === l.body &&
      severityText === l.severityText &&
      eventName === l.eventName
    return same ? l : { ...l, resource, scope, attributes, body, severityText, eventName }
  }
}
