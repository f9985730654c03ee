#!/usr/bin/env -S node --max-old-space-size=1024
// The `signalbox` command: register the TypeScript loader, then run the CLI. The JS heap is capped
// at 1 GiB, as `npm start` does: left alone, V8 grew it to 1.5 GB under a flood of 8,192-span
// batches whose live data is a few hundred MB (docs/ingest-reliability.md).
import { register } from 'tsx/esm/api'

register()
await import('./main.ts')
