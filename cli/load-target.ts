import type { Config } from '../core/config.ts'
import { CliError, fetchFailure } from './failure.ts'
import { loopback } from './runtime.ts'

export interface LoadTarget {
  readonly collectorUrl: string
  readonly apiUrl: string
}

/**
 * Where `signalbox load` sends its traffic: the addresses given, or those `start` listens on with the
 * same settings (`.env`, SIGNALBOX_HOST, SIGNALBOX_OTLP_HTTP_PORT, SIGNALBOX_HTTP_PORT). Both must
 * answer before the run begins, so a Signalbox that is not running is one clear line, not a stack.
 */
export async function loadTarget(
  config: Config,
  given: { collector?: string; api?: string },
): Promise<LoadTarget> {
  const host = loopback(config.host)
  const collector = {
    url: given.collector ?? `http://${host}:${config.otlpHttpPort}`,
    what: 'the collector',
    from: given.collector ? '--collector' : 'SIGNALBOX_HOST and SIGNALBOX_OTLP_HTTP_PORT',
    probe: '/metrics',
    flag: '--collector',
  }
  const api = {
    url: given.api ?? `http://${host}:${config.httpPort}`,
    what: 'the api',
    from: given.api ? '--api' : 'SIGNALBOX_HOST and SIGNALBOX_HTTP_PORT',
    probe: '/api/health',
    flag: '--api',
  }
  for (const t of [api, collector]) {
    let base: URL
    try {
      base = new URL(t.url)
    } catch {
      throw new CliError(`${t.flag} ${t.url} is not a URL`, `give it as http://host:port`)
    }
    let status: number
    try {
      status = (await fetch(new URL(t.probe, base), { signal: AbortSignal.timeout(5_000) })).status
    } catch (err) {
      const why = fetchFailure(err) ?? (err as Error).message
      throw new CliError(
        `nothing answers at ${t.url} (${t.what}, from ${t.from}: ${why})`,
        `start Signalbox first: \`npm start\`, or point ${t.flag} at the one that runs`,
        { cause: err },
      )
    }
    // The load's estate and connectors send no ingestion key (connectors/load/run.ts).
    if (status === 401)
      throw new CliError(
        `${t.what} at ${t.url} asks for a token (SIGNALBOX_AUTH=tokens), and \`signalbox load\` sends none`,
        'run it against a Signalbox without authentication (SIGNALBOX_AUTH=none, on loopback)',
      )
  }
  return { collectorUrl: collector.url.replace(/\/+$/, ''), apiUrl: api.url.replace(/\/+$/, '') }
}
