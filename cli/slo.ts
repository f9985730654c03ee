import { readFileSync, writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { exportOpenSlo } from '../alerts/openslo/export.ts'
import { importOpenSlo, slosYaml } from '../alerts/openslo/import.ts'
import { loadSlos, readSloDocument } from '../alerts/spec.ts'
import { loadConfig } from '../core/config.ts'
import { loadFlows } from '../core/flows.ts'
import { CliError } from './failure.ts'

function readInput(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8')
  } catch (err) {
    throw new CliError(`reading ${file}`, (err as Error).message, { cause: err })
  }
}

function write(text: string, output: string | undefined) {
  if (output) writeFileSync(output, text)
  else process.stdout.write(text)
}

/** `signalbox slo import|export`: OpenSLO v1 in and out, checked against the flows of the config dir. */
export function addSloCommands(program: Command): void {
  const slo = program.command('slo').description('SLOs as code: OpenSLO v1 in and out of slos.yaml')

  slo
    .command('import')
    .description(
      'read OpenSLO v1 documents (SLO, SLI, AlertPolicy) and print them as slos.yaml, checked against flows.yaml; what is not kept is named on stderr',
    )
    .argument('<file>', 'an OpenSLO YAML file (- for stdin)')
    .option('--output <file>', 'write slos.yaml here instead of printing it (e.g. config/slos.yaml)')
    .action((file: string, o: { output?: string }) => {
      const { configDir } = loadConfig()
      const result = importOpenSlo(readInput(file), loadFlows(configDir), file)
      for (const w of result.warnings) process.stderr.write(`signalbox: warning: ${w}\n`)
      write(slosYaml(result, file), o.output)
      if (o.output)
        process.stderr.write(`signalbox: ${Object.keys(result.slos).length} SLOs written to ${o.output}\n`)
    })

  slo
    .command('export')
    .description("print the config dir's slos.yaml as OpenSLO v1 documents (SLO, SLI, AlertPolicy)")
    .option('--output <file>', 'write the documents here instead of printing them')
    .action((o: { output?: string }) => {
      const { configDir } = loadConfig()
      // Checked as at start: an export of a file Signalbox would refuse would mislead.
      loadSlos(configDir, loadFlows(configDir))
      write(exportOpenSlo(readSloDocument(configDir)), o.output)
    })
}
