// A worker thread's entry: workers do not inherit the TypeScript loader `--import tsx` gives the main
// thread (Node 20), so this registers it, then loads the worker itself.
import { register } from 'tsx/esm/api'

register()
await import('./worker.ts')
