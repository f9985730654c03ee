import type { OpenAPIV3_1 } from 'openapi-types'

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)

type Schema = OpenAPIV3_1.SchemaObject
type Parameter = OpenAPIV3_1.ParameterObject

function typeOf(schema: Schema | undefined): string {
  if (!schema) return ''
  if (schema.enum) return schema.enum.map(String).join(' | ')
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type ?? '')
  if ('items' in schema && schema.items) return `${typeOf(schema.items as Schema)}[]`
  return [type, schema.format, schema.pattern ? `/${schema.pattern}/` : ''].filter(Boolean).join(' ')
}

function parameterRows(parameters: readonly Parameter[]): string {
  if (parameters.length === 0) return ''
  const rows = parameters.map(
    (p) =>
      `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required ? 'yes' : ''}</td>` +
      `<td><code>${esc(typeOf(p.schema as Schema))}</code></td>` +
      `<td>${esc(p.description ?? (p.schema as Schema | undefined)?.description ?? '')}</td></tr>`,
  )
  return `<table><thead><tr><th>Parameter</th><th>In</th><th>Required</th><th>Type</th><th>Meaning</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

function bodyRows(body: OpenAPIV3_1.RequestBodyObject | undefined): string {
  const schema = body?.content?.['application/json']?.schema as Schema | undefined
  if (!schema?.properties) return ''
  const required = new Set(schema.required ?? [])
  const rows = Object.entries(schema.properties).map(
    ([name, s]) =>
      `<tr><td><code>${esc(name)}</code></td><td>${required.has(name) ? 'yes' : ''}</td>` +
      `<td><code>${esc(typeOf(s as Schema))}</code></td></tr>`,
  )
  return `<h4>JSON body</h4><table><thead><tr><th>Field</th><th>Required</th><th>Type</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

/** A readable, dependency-free reference page rendered from the OpenAPI document. */
export function referencePage(doc: OpenAPIV3_1.Document): string {
  const sections = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    Object.entries(item ?? {})
      .filter(([, op]) => typeof op === 'object' && op !== null && 'responses' in op)
      .map(([method, op]) => {
        const o = op as OpenAPIV3_1.OperationObject
        const responses = Object.entries(o.responses ?? {})
          .map(
            ([code, r]) =>
              `<li><code>${esc(code)}</code> ${esc((r as { description?: string }).description)}</li>`,
          )
          .join('')
        return (
          `<section id="${esc(`${method}-${path}`)}"><h3><span class="method">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>` +
          `<p><strong>${esc(o.summary)}</strong></p>${o.description ? `<p>${esc(o.description)}</p>` : ''}` +
          parameterRows((o.parameters ?? []) as Parameter[]) +
          bodyRows(o.requestBody as OpenAPIV3_1.RequestBodyObject | undefined) +
          `<h4>Responses</h4><ul>${responses}</ul></section>`
        )
      }),
  )
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(doc.info.title)} — API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1b1f24;background:#fff}
@media (prefers-color-scheme: dark){body{color:#e6e8eb;background:#14171a}th,td{border-color:#333}}
section{border-top:1px solid #ccc;padding:.5rem 0}.method{font-weight:700;color:#0a6}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
</style></head><body><h1>${esc(doc.info.title)} API</h1><p>${esc(doc.info.description)}</p>
<p>Machine-readable: <a href="openapi.json">openapi.json</a>. Errors are always <code>{"error":{"code","message","requestId"}}</code>.</p>
${sections.join('\n')}</body></html>`
}
