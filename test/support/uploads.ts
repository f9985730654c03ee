import http from 'node:http'

/*
 * A slow sender, to fill the collector's admission deterministically: what its bodies in hand may
 * hold is a quarter of SIGNALBOX_QUEUE_MAX_BYTES, and a stalled upload holds what it has sent.
 */

/**
 * An OTLP/HTTP upload that declares `declared` bytes, sends `sent` of them and waits; `end` hangs up,
 * `answer` is the status the collector gives it (0 when the connection ends without one).
 */
export function heldUpload(
  collectorUrl: string,
  declared: number,
  sent: number,
): { end: () => void; answer: Promise<number> } {
  const req = http.request(`${collectorUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', 'content-length': String(declared) },
  })
  const answer = new Promise<number>((resolve) => {
    req.on('response', (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', () => resolve(0))
    req.on('close', () => resolve(0))
  })
  req.write(Buffer.alloc(sent, 0x0a))
  return { end: () => req.destroy(), answer }
}

/** Bytes of request bodies the collector holds while reading and decoding them (its gauge). */
export async function admittedBytes(collectorUrl: string): Promise<number> {
  const text = await (await fetch(`${collectorUrl}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith('signalbox_collector_admitted_bytes '))
  return line ? Number(line.split(' ').pop()) : Number.NaN
}
