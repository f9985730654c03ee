#!/usr/bin/env node
// The `signalbox` command: register the TypeScript loader, then run the CLI.
import { register } from 'tsx/esm/api'

register()
await import('./main.ts')
