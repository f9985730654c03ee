import { runEvery } from '../core/background.ts'
import type { Config } from '../core/config.ts'
import type { Logger } from '../core/logger.ts'
import type { Store } from '../store/client.ts'
import {
  type CallbackProbe,
  latestProbes,
  recordProbe,
  registeredConnectors,
} from '../store/queries/connectors.ts'
import { isoFromMs } from './params.ts'
import { type ProbeAnswer, probeCallback } from './replay/callback.ts'
import { callbackHostAllowed, hostRefusal } from './replay/callback-hosts.ts'

/** Whether a connector's registered callback answers Signalbox's signed probe. */
export type CallbackStatus = 'answering' | 'not_answering' | 'never_probed'

export interface CallbackHealth {
  /** The latest probe's outcome: `answering` only when it answered, signature accepted. */
  readonly status: CallbackStatus
  readonly lastProbedAt: string | null
  readonly lastAnsweredAt: string | null
  /** Why the latest probe did not count as an answer; null when it did. */
  readonly error: string | null
}

/** A callback's health from its probes (of this callback URL only: a new URL starts unprobed). */
export function callbackHealth(probes: readonly CallbackProbe[]): CallbackHealth {
  const answered = probes.filter((p) => p.answered).sort((a, b) => b.atMs - a.atMs)[0]
  const refused = probes.filter((p) => !p.answered).sort((a, b) => b.atMs - a.atMs)[0]
  const latest = [answered, refused].filter((p) => p !== undefined).sort((a, b) => b.atMs - a.atMs)[0]
  return {
    status: !latest ? 'never_probed' : latest.answered ? 'answering' : 'not_answering',
    lastProbedAt: latest ? isoFromMs(latest.atMs) : null,
    lastAnsweredAt: answered ? isoFromMs(answered.atMs) : null,
    error: latest && !latest.answered ? latest.error : null,
  }
}

/** The probes of the callbacks registered now (of one connector, when given), by connector and URL. */
export async function probesByCallback(store: Store, id?: string): Promise<Map<string, CallbackProbe[]>> {
  const byCallback = new Map<string, CallbackProbe[]>()
  for (const p of await latestProbes(store, id)) {
    const key = callbackKey(p.id, p.callbackUrl)
    const probes = byCallback.get(key)
    if (probes) probes.push(p)
    else byCallback.set(key, [p])
  }
  return byCallback
}

export const callbackKey = (id: string, callbackUrl: string) => `${id}\n${callbackUrl}`

/**
 * Probes connectors' callbacks and records what they said: on a timer, on demand, and when another
 * callback asks for a registered id. Probes in flight are awaited by `stop`, so none writes to a
 * closed store.
 */
export class CallbackProber {
  private readonly inFlight = new Set<Promise<unknown>>()

  constructor(
    private readonly store: Store,
    /** The secret probes are signed with; a callback outside SIGNALBOX_CALLBACK_HOSTS is not probed (its answer says why). */
    private readonly replay: Pick<Config['replay'], 'callbackSecret' | 'callbackHosts'>,
    private readonly log: Logger,
    private readonly timeoutMs = 5_000,
  ) {}

  /** Probes one callback now and records the outcome. */
  probe(connector: { readonly id: string; readonly callbackUrl: string }): Promise<ProbeAnswer> {
    const probing = (async () => {
      const atMs = Date.now()
      const { callbackSecret, callbackHosts } = this.replay
      const answer = callbackHostAllowed(connector.callbackUrl, callbackHosts)
        ? await probeCallback(connector.callbackUrl, callbackSecret, connector.id, this.timeoutMs)
        : { answered: false, httpStatus: 0, error: hostRefusal(connector.callbackUrl) }
      await recordProbe(this.store, { ...connector, ...answer, atMs })
      return answer
    })()
    this.inFlight.add(probing)
    void probing.finally(() => this.inFlight.delete(probing)).catch(() => undefined)
    return probing
  }

  /** Probes without waiting (after a registration); a failure is logged, never thrown. */
  probeSoon(connector: { readonly id: string; readonly callbackUrl: string }): void {
    this.probe(connector).catch((err) =>
      this.log.warn({ err, connector: connector.id }, 'callback probe failed'),
    )
  }

  /** Probes every registered connector, a few at a time, until `stopped` says otherwise. */
  async probeAll(stopped: () => boolean = () => false): Promise<void> {
    const connectors = await registeredConnectors(this.store)
    for (let i = 0; i < connectors.length && !stopped(); i += 8)
      await Promise.all(connectors.slice(i, i + 8).map((c) => this.probe(c)))
  }

  /** Probes every registered connector now and then every `everyMs`; the returned function stops it. */
  start(everyMs: number): () => Promise<void> {
    const stop = runEvery((signal) => this.probeAll(() => signal.aborted), {
      everyMs,
      log: this.log,
      failure: 'callback probes failed; trying again next round',
    })
    return async () => {
      await stop()
      await this.settle()
    }
  }

  /** Waits for every probe in flight. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
  }
}
