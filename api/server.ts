import { serve } from '@hono/node-server'
import type { Registry } from 'prom-client'
import type { Config } from '../core/config.ts'
import { listenError } from '../core/errors.ts'
import { flowShape, loadFlows } from '../core/flows.ts'
import type { Logger } from '../core/logger.ts'
import { vaultFor } from '../core/payload-vault.ts'
import { processRegistry } from '../core/process-metrics.ts'
import type { Store } from '../store/client.ts'
import { scheduleRollups } from '../store/rollups.ts'
import { apiApp } from './app.ts'
import { CallbackProber } from './connector-probes.ts'
import { startReplayJobs } from './replay/jobs.ts'
import { replayDeps } from './replay/replay.ts'

export interface RunningApi {
  readonly port: number
  close(): Promise<void>
}

export async function startApi(
  store: Store,
  config: Config,
  log: Logger,
  vault = vaultFor(config),
  metrics: Registry = processRegistry(),
): Promise<RunningApi> {
  log.info({ payloadKey: vault.currentKeyId }, 'sensitive exception payload fields are encrypted at rest')
  const prober = new CallbackProber(store, config.replay, log)
  const app = apiApp(store, config, log, vault, prober, metrics)
  const listening = await new Promise<{ port: number; close: () => Promise<void> }>((resolve, reject) => {
    const options = {
      fetch: app.fetch,
      port: config.httpPort,
      hostname: config.host,
      // Oversized headers are refused by Node with 431 before any of Signalbox runs.
      serverOptions: { maxHeaderSize: config.ingest.maxHeaderBytes },
    }
    const server = serve(options, (info) => {
      log.info({ address: `http://${config.host}:${info.port}` }, 'api listening')
      resolve({ port: info.port, close: () => new Promise<void>((done) => server.close(() => done())) })
    })
    server.once('error', (err) =>
      reject(listenError(err, 'SIGNALBOX_HTTP_PORT', config.host, config.httpPort)),
    )
  })
  // The system map's edges are derived from recent spans on a timer (store/rollups.ts).
  // Each flow's per-entity stage times, for stuck lists and flow metrics, on the same timer.
  const stopRollups = scheduleRollups(store, log, {
    everyMs: config.query.rollupEveryMs,
    windowMinutes: 10,
    flows: [...loadFlows(config.configDir).values()].map(flowShape),
  })
  // Bulk replays run here, at their jobs' rates, and resume after a restart.
  const stopReplays = startReplayJobs(replayDeps(store, vault, config.replay), log)
  // Each registered connector's callback is asked, signed like a replay, whether it still answers.
  const stopProbes = prober.start(config.replay.probeEveryMs)
  return {
    port: listening.port,
    close: async () => {
      await stopRollups()
      await stopReplays()
      await listening.close()
      // After the listener: a registration's last probe is settled before the store closes.
      await stopProbes()
    },
  }
}
