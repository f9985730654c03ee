import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { MIGRATIONS } from '../../store/migrations/index.ts'

const retention = { spans: 30, logs: 14, events: 400 }
const single = { database: 'signalbox' }
const cluster = { database: 'signalbox', cluster: 'retail' }

/**
 * What each shipped migration runs, for one node and for a cluster, as a digest. Installs that applied
 * a migration never run it again, so a migration whose statements change gives new installs a schema
 * that old ones do not have. A new migration adds its line; a line never changes.
 */
const SHIPPED: Array<[id: number, name: string, single: string, cluster: string]> = [
  [1, 'spans', '95467482e8119b48', '596aaa0692d9890b'],
  [2, 'logs', 'cb2ee58bb40e8f8e', '587f0af90443baf2'],
  [3, 'business_events', '36f5d5d7cde6ea3d', '2183d38a356cecbe'],
  [4, 'entity_index', 'b905c8ff13fa0106', 'f0f49178b882f7fc'],
  [5, 'control_plane', '19d0f1522f05322b', '69396b197ead2272'],
  [6, 'entity_progress', '96c35fd93a7bc421', '3cbd98fa35eef2fd'],
  [7, 'flow_analytics', '60899a6568640be5', '0eb00b305069fb08'],
  [8, 'alerting', '29ba7f80d9807bd7', '1a2e0bb471911889'],
  [9, 'replays', '17714bbc7ae6321c', '69aed8d87e3471ad'],
  [10, 'tokens', 'df13b00fc4cf23e9', 'c2f7942b409ebf91'],
  [11, 'entity_links', 'c0dccceedcc66d1a', '47525b4b8f31b05b'],
  [12, 'token_scopes', '58921b7b7e9caef4', '63be051527092aeb'],
  [13, 'flow_state', '7c3e4039f0ec1662', '7041b00cf414bce6'],
  [14, 'token_last_used', '81ab23b62f3ca766', 'f0462dc05104ee29'],
  [15, 'sli_minutes', 'f04584a90f163039', 'b0ca5ad8689428ca'],
  [16, 'spans_by_trace', '6eeca7701c7a9073', '6061bbba05a7ed41'],
  [17, 'span_keys', '21d75e57ddd0d74d', 'e1f9cf26ca4edb68'],
  [18, 'connector_probes', '6f2e2418cc1d0976', 'dd0128484f9f8403'],
  [19, 'unmapped_webhooks', 'c44b45a752dcc5a5', 'd41d6ddd17afe0cd'],
  [20, 'event_contracts', 'db4864a733390044', '899f3a38b82ba10c'],
  [21, 'failed_traces', 'f3475c075c2ea831', '8df4de6b36ba4ea0'],
  [22, 'integration_sightings', '649000b88cf486fd', '2faaad7a7426f2c2'],
  [23, 'flow_tallies', 'ab06a9406fe69789', '6174656b50a9ceda'],
  [24, 'span_keys_small_blocks', '3fc8dbae2ca7e5d7', 'd6aa972e25f0282e'],
  [25, 'fewer_merges', '675485ab7357a79a', 'f09f82976d278d06'],
  [26, 'span_resources', '12624e0dee318a86', 'd480cbcb186a573a'],
  [27, 'span_keys_in_trace_index', '3d690da16864fa1e', '8a97359411367839'],
  [28, 'drop_span_keys', 'f4a066381f149159', '9d2f5ef7f000aef7'],
  [29, 'connector_removal', '1611085744852b91', 'b4829b0eecdeddfd'],
]

const digest = (statements: readonly string[]) =>
  createHash('sha256').update(statements.join(';\n')).digest('hex').slice(0, 16)

describe('shipped migrations', () => {
  it('keep their ids, names and statements, for one node and for a cluster', () => {
    const now = MIGRATIONS.map((m) => [
      m.id,
      m.name,
      digest(m.statements(single, retention)),
      digest(m.statements(cluster, retention)),
    ])
    expect(now).toEqual(SHIPPED)
  })

  it('import nothing that can change: only the frozen DDL helpers and the Migration type', () => {
    const dir = join(import.meta.dirname, '../../store/migrations')
    const imports = (file: string) =>
      [...readFileSync(join(dir, file), 'utf8').matchAll(/\b(?:from|import)\s*\(?'([^']+)'/g)].map(
        (m) => m[1],
      )
    const shipped = readdirSync(dir).filter((f) => /^\d{4}_\w+\.ts$/.test(f))
    expect(shipped).toHaveLength(MIGRATIONS.length)
    for (const file of shipped)
      expect({
        file,
        imports: imports(file).filter((i) => i !== './frozen-ddl.ts' && i !== './types.ts'),
      }).toEqual({
        file,
        imports: [],
      })
    expect(imports('frozen-ddl.ts')).toEqual([])
  })

  it('are numbered in order from 1, one each', () => {
    expect(MIGRATIONS.map((m) => m.id)).toEqual(MIGRATIONS.map((_, i) => i + 1))
  })
})
