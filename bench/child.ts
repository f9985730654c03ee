import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const root = join(import.meta.dirname, '..')

export interface ChildSignalbox {
  readonly process: ChildProcess
  readonly collectorUrl: string
  readonly apiUrl: string
  /** Resident memory now, from /proc (Linux), in MB. */
  rssMB(): number
  /** CPU seconds (user + system, all threads) used so far, from /proc (Linux). */
  cpuSeconds(): number
  /** Stops it with SIGTERM (queued rows are written first) and waits for the exit. */
  stop(): Promise<void>
}

/**
 * `signalbox start` as its own process, as a user runs it, on free ports: without the demo estate
 * unless `demo` is set.
 */
export function startChildSignalbox(
  env: Record<string, string>,
  { demo = false }: { demo?: boolean } = {},
): Promise<ChildSignalbox> {
  // BENCH_CHILD_NODE_ARGS: extra node flags for the measured process, e.g. `--cpu-prof` to profile it.
  // The heap cap `npm start` runs with (package.json); BENCH_CHILD_NODE_ARGS comes after, so it wins.
  const nodeArgs = [
    '--max-old-space-size=1024',
    ...(process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean),
  ]
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', 'cli/main.ts', 'start', ...(demo ? [] : ['--no-demo'])],
    {
      cwd: root,
      env: {
        ...process.env,
        SIGNALBOX_HTTP_PORT: '0',
        SIGNALBOX_OTLP_HTTP_PORT: '0',
        SIGNALBOX_OTLP_GRPC_PORT: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return new Promise((resolve, reject) => {
    let collectorUrl = ''
    child.once('exit', (code) => reject(new Error(`signalbox exited with ${code} before listening`)))
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry: { msg?: string; http?: string; address?: string }
      try {
        entry = JSON.parse(line)
      } catch {
        return
      }
      if (entry.msg === 'collector listening' && entry.http) collectorUrl = `http://${entry.http}`
      if (entry.msg === 'api listening' && entry.address) {
        resolve({
          process: child,
          collectorUrl,
          apiUrl: entry.address,
          rssMB() {
            const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
            return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
          },
          cpuSeconds() {
            const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
            // utime and stime are fields 14 and 15 of stat(5); after the command name they are 12 and 13.
            return (Number(fields[11]) + Number(fields[12])) / 100
          },
          async stop() {
            child.kill('SIGTERM')
            await exited
          },
        })
      }
    })
  })
}
