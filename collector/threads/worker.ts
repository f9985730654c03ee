import { parentPort, workerData } from 'node:worker_threads'
import { SignalboxError } from '../../core/errors.ts'
import { prepareEvents } from '../events/prepare.ts'
import { prepareLogs } from '../logs/prepare.ts'
import { prepareSpans } from '../spans/prepare.ts'
import { preparerContexts, type WorkerSettings } from './contexts.ts'
import { addToBook, ownsItsBuffer, type WorkerMessage, type WorkerReply } from './pool.ts'

/*
 * A decoding thread (collector/threads/pool.ts): trace requests in, Native blocks and span keys out;
 * logs requests in, row text out; CloudEvents requests in, row text, event keys and contract verdicts out. The block and the keys'
 * times are handed back, not copied, when they own their memory.
 */

const { spans, logs, events } = preparerContexts(workerData as WorkerSettings)

const port = parentPort
if (!port) throw new Error('collector/threads/worker.ts runs as a worker thread')

port.postMessage({ ready: true })

port.on('message', (message: WorkerMessage) => {
  if ('contract' in message) return addToBook(events.contracts, message.contract)
  const { id } = message
  let reply: WorkerReply
  const transfer: ArrayBuffer[] = []
  try {
    if (message.kind === 'events') reply = { id, prepared: prepareEvents(message.request, events) }
    else if (message.kind === 'logs') reply = { id, prepared: prepareLogs(message.request, logs) }
    else {
      const prepared = prepareSpans(message.request, spans)
      reply = { id, prepared }
      for (const view of [prepared.block, prepared.keyTimes])
        if (ownsItsBuffer(view)) transfer.push(view.buffer as ArrayBuffer)
    }
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
