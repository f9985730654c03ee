import { request } from 'node:http'
import { CliError } from '../failure.ts'

/**
 * One request to the admin socket of a running Signalbox (cli/admin/socket.ts), answered as JSON.
 * A refusal comes back as what was tried and what to do, and is thrown as such. `timeoutMs`: how long
 * to wait for the answer (none for work that may take long, like re-encrypting every payload).
 */
export function adminRequest<T>(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs?: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => {
          text += chunk
        })
        res.on('end', () => {
          let parsed: { error?: { tried?: string; todo?: string } } & T
          try {
            parsed = JSON.parse(text)
          } catch {
            return reject(
              new CliError(
                `the admin socket ${socketPath} answered ${res.statusCode} without JSON`,
                'see the log of the running Signalbox',
              ),
            )
          }
          if ((res.statusCode ?? 500) >= 400)
            return reject(
              new CliError(
                parsed.error?.tried ?? `${method} ${path} on ${socketPath}`,
                parsed.error?.todo ?? `answered ${res.statusCode}`,
              ),
            )
          resolve(parsed)
        })
      },
    )
    req.once('error', (err) =>
      reject(
        new CliError(
          `the admin socket ${socketPath} failed (${err.message})`,
          'check that Signalbox is still running',
          {
            cause: err,
          },
        ),
      ),
    )
    if (timeoutMs !== undefined)
      req.setTimeout(timeoutMs, () =>
        req.destroy(new Error(`no answer within ${timeoutMs / 1000} s; is it stopped or hung?`)),
      )
    req.end(payload)
  })
}
