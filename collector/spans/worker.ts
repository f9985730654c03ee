import { parentPort, workerData } from 'node:worker_threads'
import { loadEntityKeyAliases } from '../../core/entity-keys.ts'
import { SignalboxError } from '../../core/errors.ts'
import { loadRedaction } from '../../core/privacy.ts'
import { prepareContext, prepareSpans, type SpanRequest } from './prepare.ts'
import { ownsItsBuffer, type WorkerReply, type WorkerSettings } from './workers.ts'

/*
 * A span decoding thread (collector/spans/workers.ts): requests in, Native blocks and span keys out.
 * The block and the keys' times are handed back, not copied, when they own their memory.
 */

const settings = workerData as WorkerSettings
const ctx = prepareContext(
  {
    retentionDays: settings.retentionDays,
    maxAttributeLength: settings.maxAttributeLength,
    aliases: loadEntityKeyAliases(settings.configDir),
  },
  settings.hashKey === undefined
    ? undefined
    : (count) => loadRedaction(settings.configDir, settings.hashKey as string, count),
)

const port = parentPort
if (!port) throw new Error('collector/spans/worker.ts runs as a worker thread')

port.postMessage({ ready: true })

port.on('message', ({ id, request }: { id: number; request: SpanRequest }) => {
  let reply: WorkerReply
  const transfer: ArrayBuffer[] = []
  try {
    const prepared = prepareSpans(request, ctx)
    reply = { id, prepared }
    for (const view of [prepared.block, prepared.keyTimes])
      if (ownsItsBuffer(view)) transfer.push(view.buffer as ArrayBuffer)
  } catch (err) {
    const e = err as Error
    reply = {
      id,
      error:
        err instanceof SignalboxError
          ? { name: e.name, message: e.message, code: err.code, status: err.status, details: err.details }
          : { name: e.name, message: e.message },
    }
  }
  port.postMessage(reply, transfer)
})
