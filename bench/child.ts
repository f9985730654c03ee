import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
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
  /** The same for each thread alive now, by thread id, with its kind (`threadKind`). */
  cpuSecondsByThread(): Map<number, { kind: ThreadKind; seconds: number }>
  /** Stops it with SIGTERM (queued rows are written first) and waits for the exit. */
  stop(): Promise<void>
}

export type ThreadKind = 'main' | 'node' | 'merges' | 'engine'

/**
 * Which part of the all-in-one a thread is, from its id and name: the JavaScript main thread; Node's
 * other threads (the decoding threads, V8's garbage collection and libuv's, where the engine's calls
 * from JavaScript run), all named `node`; the engine's background merges (`MergeMutate`); and the
 * engine's other threads, its query and insert pipelines.
 */
function threadKind(pid: number, tid: number, name: string): ThreadKind {
  if (tid === pid) return 'main'
  if (name === 'node') return 'node'
  return name.startsWith('MergeMutate') ? 'merges' : 'engine'
}

/** utime + stime of a /proc stat line, in seconds: fields 14 and 15 of stat(5), 12 and 13 after the name. */
function statSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
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
            return statSeconds(readFileSync(`/proc/${child.pid}/stat`, 'utf8'))
          },
          cpuSecondsByThread() {
            const pid = child.pid as number
            const threads = new Map<number, { kind: ThreadKind; seconds: number }>()
            for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
              try {
                const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
                const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
                threads.set(tid, { kind: threadKind(pid, tid, name), seconds: statSeconds(stat) })
              } catch {
                // the thread ended between the listing and the read
              }
            }
            return threads
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
