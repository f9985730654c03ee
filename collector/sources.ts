import { INTEGRATION_ATTRIBUTES } from '../core/vocabulary.ts'
import type { Attributes, Resource } from './otlp/model.ts'

const CONNECTOR = INTEGRATION_ATTRIBUTES.connector

/**
 * What a span or log record writes for, as an ingestion key limited to sources judges it: its service,
 * and the connector it names (its own attribute, else its resource's), whose runs, failures and
 * exceptions it counts in. A storefront key naming the ERP's connector resolved the ERP's exceptions.
 */
export function* sourcesNamed(
  records: Iterable<{ readonly attributes: Attributes; readonly resource: Resource }>,
): Iterable<string> {
  for (const r of records) {
    yield r.resource.serviceName
    const connector = r.attributes[CONNECTOR] ?? r.resource.attributes[CONNECTOR]
    if (connector) yield connector
  }
}
