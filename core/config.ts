import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { z } from 'zod'
import { ConfigError } from './errors.ts'
import { parseKeyRing } from './payload-vault.ts'

const port = z.coerce.number().int().min(0).max(65535)
const positiveInt = z.coerce.number().int().positive()
/** A host name (or an IPv4 address), or `*.` and a domain: what a callback URL may name. */
const CALLBACK_HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v))

/** Every setting Signalbox reads, by its environment variable name. docs/configuration.md lists the same table. */
const settingsSchema = z.object({
  SIGNALBOX_HOST: z.string().min(1).default('127.0.0.1'),
  SIGNALBOX_HTTP_PORT: port.default(8080),
  SIGNALBOX_OTLP_HTTP_PORT: port.default(4318),
  SIGNALBOX_OTLP_GRPC_PORT: port.default(4317),
  /** `/metrics` of an evaluator running without the api (`signalbox alerts`); with the api, it is the api's. */
  SIGNALBOX_ALERTS_METRICS_PORT: port.default(9465),
  SIGNALBOX_DATA_DIR: z.string().min(1).default('./data'),
  /** Unset: `./config`, or `./config/demo` when the demo estate runs (its flows' delays scaled to minutes). */
  SIGNALBOX_CONFIG_DIR: optionalString,
  SIGNALBOX_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CLICKHOUSE_URL: optionalString.pipe(z.url().optional()),
  CLICKHOUSE_USER: optionalString,
  CLICKHOUSE_PASSWORD: optionalString,
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier')
    .default('signalbox'),
  CLICKHOUSE_CLUSTER: optionalString.pipe(
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'must be a plain identifier')
      .optional(),
  ),
  CLICKHOUSE_REQUEST_TIMEOUT_SECONDS: positiveInt.max(86_400).default(60),
  SIGNALBOX_MAX_BODY_BYTES: positiveInt.default(16 * 1024 * 1024),
  SIGNALBOX_REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(10).max(3600).default(30),
  SIGNALBOX_MAX_HEADER_BYTES: z.coerce
    .number()
    .int()
    .min(4096)
    .max(1024 * 1024)
    .default(16 * 1024),
  SIGNALBOX_BATCH_MAX_ROWS: positiveInt.default(20_000),
  SIGNALBOX_BATCH_MAX_WAIT_MS: positiveInt.default(10),
  SIGNALBOX_QUEUE_MAX_ROWS: positiveInt.default(200_000),
  SIGNALBOX_QUEUE_MAX_BYTES: positiveInt.default(128 * 1024 * 1024),
  SIGNALBOX_INGEST_MAX_WAIT_MS: positiveInt.default(4_000),
  SIGNALBOX_MAX_ATTRIBUTE_LENGTH: positiveInt.default(16 * 1024),
  SIGNALBOX_INGEST_THREADS: z.coerce
    .number()
    .int()
    .min(0)
    .max(64)
    .default(Math.max(0, availableParallelism() - 1)),
  SIGNALBOX_RETENTION_SPANS_DAYS: positiveInt.default(30),
  SIGNALBOX_RETENTION_LOGS_DAYS: positiveInt.default(30),
  SIGNALBOX_RETENTION_EVENTS_DAYS: positiveInt.default(400),
  /** Spans, logs and the trace index of failed traces (docs/operations.md, "Retention"). */
  SIGNALBOX_RETENTION_FAILED_DAYS: positiveInt.default(90),
  SIGNALBOX_RETENTION_FAILED_DAYS_BY_FLOW: z
    .string()
    .default('')
    .pipe(
      z
        .string()
        .regex(
          /^(\s*[a-z][a-z0-9_]*\s*=\s*[1-9][0-9]{0,4}\s*(,|$))*$/,
          'flow=days pairs, comma-separated (order_to_cash=180,return_to_refund=120)',
        ),
    ),
  SIGNALBOX_QUERY_TIMEOUT_SECONDS: positiveInt.default(10),
  SIGNALBOX_MAX_QUERY_RANGE_DAYS: positiveInt.default(31),
  SIGNALBOX_READS_PER_CALLER: z.coerce.number().int().min(1).max(10_000).default(64),
  SIGNALBOX_ROLLUP_INTERVAL_SECONDS: positiveInt.default(30),
  SIGNALBOX_CALLBACK_SECRET: optionalString.pipe(
    z
      .string()
      .regex(
        /^(whsec_)?[A-Za-z0-9+/]{32,}={0,2}$/,
        'a Standard Webhooks secret: whsec_ and at least 24 bytes, base64',
      )
      .optional(),
  ),
  SIGNALBOX_REPLAY_LIMIT: positiveInt.default(5),
  // A day at most: a timer longer than 2^31 ms fires at once, again and again.
  SIGNALBOX_CALLBACK_PROBE_SECONDS: positiveInt.max(86_400).default(30),
  SIGNALBOX_CALLBACK_HOSTS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const hosts = (v ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean)
      for (const h of hosts)
        if (!CALLBACK_HOST.test(h))
          ctx.addIssue({ code: 'custom', message: `'${h}' is not a host name or *.domain` })
      return hosts
    }),
  SIGNALBOX_PAYLOAD_KEYS: optionalString,
  SIGNALBOX_HASH_KEY: optionalString.pipe(z.string().min(32, 'at least 32 characters').optional()),
  SIGNALBOX_RATE_LIMIT_PER_MINUTE: positiveInt.default(1200),
  SIGNALBOX_INGEST_RATE_LIMIT_PER_MINUTE: positiveInt.default(12_000),
  SIGNALBOX_AUTH: z.enum(['none', 'tokens']).optional(),
  SIGNALBOX_OIDC_ISSUER: optionalString.pipe(z.url().optional()),
  SIGNALBOX_OIDC_CLIENT_ID: optionalString,
  SIGNALBOX_OIDC_CLIENT_SECRET: optionalString,
  SIGNALBOX_OIDC_SCOPES: z.string().default('openid email profile'),
  SIGNALBOX_OIDC_ROLE_CLAIM: z.string().min(1).default('groups'),
  SIGNALBOX_OIDC_ROLES: z
    .string()
    .default('')
    .pipe(
      z
        .string()
        .regex(
          /^(\s*[^=,\s][^=,]*=\s*(viewer|support|operator|admin)\s*(,|$))*$/,
          'claim-value=role pairs, comma-separated (sre=operator,signalbox-admins=admin)',
        ),
    ),
  SIGNALBOX_OIDC_DEFAULT_ROLE: z.enum(['viewer', 'support', 'operator', 'admin']).optional(),
  SIGNALBOX_OIDC_SCOPE_CLAIMS: z
    .string()
    .default('')
    .pipe(
      z
        .string()
        .regex(
          /^(\s*(flows|channels|systems)\s*=\s*[^=,\s]+\s*(,|$))*$/,
          'dimension=claim pairs, comma-separated (flows=signalbox_flows,channels=signalbox_channels)',
        ),
    ),
  SIGNALBOX_SESSION_HOURS: z.coerce
    .number()
    .min(0.1)
    .max(24 * 30)
    .default(12),
  SIGNALBOX_PUBLIC_URL: optionalString.pipe(z.url().optional()),
  SIGNALBOX_DEMO_ORDERS_PER_MINUTE: z.coerce.number().min(0).max(100_000).default(30),
})

export type Settings = z.infer<typeof settingsSchema>

export type RoleName = 'viewer' | 'support' | 'operator' | 'admin'

export interface OidcSettings {
  readonly issuer: string
  readonly clientId: string
  /** Absent: a public client (PKCE alone). */
  readonly clientSecret?: string
  readonly scopes: string
  /** The claim holding the user's groups or roles (a string or a list). */
  readonly roleClaim: string
  /** Claim value → role; the highest role a user's values map to wins. */
  readonly roles: Readonly<Record<string, RoleName>>
  /** The role of a user none of whose values map (none: refused). */
  readonly defaultRole?: RoleName
  /** Claims that limit a user to some flows, channels or systems, by dimension (absent: unlimited). */
  readonly scopeClaims: Readonly<Partial<Record<'flows' | 'channels' | 'systems', string>>>
}

/** `a=1,b=2` → { a: 1, b: 2 }, the values read by `value` (the setting's regex has checked the shape). */
function pairs<T>(text: string, value: (v: string) => T): Record<string, T> {
  return Object.fromEntries(
    text
      .split(',')
      .filter((pair) => pair.trim())
      .map((pair) => {
        const [k = '', v = ''] = pair.split('=').map((x) => x.trim())
        return [k, value(v)]
      }),
  )
}

function oidcSettings(s: Settings): OidcSettings | undefined {
  if (!s.SIGNALBOX_OIDC_ISSUER) return undefined
  return Object.freeze({
    issuer: s.SIGNALBOX_OIDC_ISSUER,
    clientId: s.SIGNALBOX_OIDC_CLIENT_ID as string,
    clientSecret: s.SIGNALBOX_OIDC_CLIENT_SECRET,
    scopes: s.SIGNALBOX_OIDC_SCOPES,
    roleClaim: s.SIGNALBOX_OIDC_ROLE_CLAIM,
    roles: Object.freeze(
      Object.fromEntries(
        s.SIGNALBOX_OIDC_ROLES.split(',')
          .filter((pair) => pair.trim())
          .map((pair) => pair.split('=').map((x) => x.trim()) as [string, RoleName]),
      ),
    ),
    defaultRole: s.SIGNALBOX_OIDC_DEFAULT_ROLE,
    scopeClaims: Object.freeze(
      Object.fromEntries(
        s.SIGNALBOX_OIDC_SCOPE_CLAIMS.split(',')
          .filter((pair) => pair.trim())
          .map((pair) => pair.split('=').map((x) => x.trim())),
      ),
    ),
  })
}

export interface Config {
  readonly host: string
  readonly httpPort: number
  readonly otlpHttpPort: number
  readonly otlpGrpcPort: number
  readonly alertsMetricsPort: number
  readonly dataDir: string
  readonly configDir: string
  readonly logLevel: Settings['SIGNALBOX_LOG_LEVEL']
  readonly clickhouse: {
    readonly url?: string
    readonly user?: string
    readonly password?: string
    readonly database: string
    readonly cluster?: string
    /**
     * Server mode: how long a request may go without a byte from the server (default 60). Long
     * statements hear progress at half of it and may wait ten times it (store/client.ts).
     */
    readonly requestTimeoutSeconds?: number
  }
  readonly ingest: {
    readonly maxBodyBytes: number
    /**
     * How long a sender has for its whole request at the collector's HTTP server: a stalled upload
     * holds the bytes it sent in admission, so not for long; a 16 MB body at 30 s needs about 550 KB/s.
     */
    readonly requestTimeoutMs: number
    /** All request headers together, at the api and the collector (HTTP 431, gRPC metadata). */
    readonly maxHeaderBytes: number
    readonly batchMaxRows: number
    readonly batchMaxWaitMs: number
    readonly queueMaxRows: number
    /** Row text queued or in flight per table (and request bodies being decoded) before 429. */
    readonly queueMaxBytes: number
    /** A request that would wait longer than this for its write is refused (429) up front. */
    readonly maxWaitMs: number
    /** Longer texts a sender controls (values, names, keys, scopes, log bodies) are truncated. */
    readonly maxAttributeLength: number
    /**
     * The most one request's rows may take (413 past it), from the two settings above: twice the
     * body limit, within a quarter to all of the queue. Rows can be far larger than their request
     * (a resource or a scope is copied into each row under it), so they are bounded as they are made.
     */
    readonly maxRequestBytes: number
    /** Threads that prepare trace and CloudEvents requests (collector/threads/pool.ts); 0: the main thread does. */
    readonly threads: number
  }
  readonly retentionDays: {
    readonly spans: number
    readonly logs: number
    readonly events: number
    readonly failed: number
    readonly failedByFlow: Readonly<Record<string, number>>
  }
  readonly query: {
    readonly timeoutSeconds: number
    readonly maxRangeDays: number
    /** Store reads one api caller may have waiting or running (store/read-lanes.ts). */
    readonly readsPerCaller: number
    readonly rollupEveryMs: number
  }
  readonly demo: { readonly ordersPerMinute: number }
  /**
   * `tokens`: every api and collector request carries a token or, with OIDC, a session cookie
   * (auth/); `none`: loopback only. OIDC turns it on by default.
   */
  readonly auth: 'none' | 'tokens'
  /** Single sign-on (authorization code + PKCE); roles from a claim. */
  readonly oidc?: OidcSettings
  readonly sessionHours: number
  /** Requests a minute per token at the api, and per ingestion key at the collector (with auth on). */
  readonly rateLimits: { readonly apiPerMinute: number; readonly ingestPerMinute: number }
  /** Keys the searchable hashes of customer identifiers (core/privacy.ts); random per process when not set. */
  readonly hashKey: string
  /**
   * The key ring that encrypts sensitive exception payload fields at rest (core/payload-vault.ts):
   * `id:base64,…`, the first encrypts. Unset: a key file in the data dir, created on first start.
   */
  readonly payloadKeys?: string
  /** Where people reach the UI: links in alert notifications point here. */
  readonly publicUrl: string
  readonly replay: {
    /** Signs connector callbacks (Standard Webhooks); random per process when not configured. */
    readonly callbackSecret: string
    /** The loop guard: an exception is replayed at most this many times. */
    readonly limit: number
    /** How often each registered connector's callback is probed (a signed request it must answer). */
    readonly probeEveryMs: number
    /** The hosts a callback may name (`*.domain` wildcards); empty: any (api/replay/callback-hosts.ts). */
    readonly callbackHosts: readonly string[]
  }
}

/**
 * Parses the settings once, at start. Every invalid key is reported together (not the first only), so
 * one restart fixes them all. A `.env` file in the working directory is read first; real environment
 * variables win over it.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  { readDotEnv = true, demo = false } = {},
): Config {
  if (readDotEnv && env === process.env && existsSync('.env')) process.loadEnvFile('.env')
  const parsed = settingsSchema.safeParse(env)
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`))
  }
  const s = parsed.data
  const problems: string[] = []
  if (s.SIGNALBOX_OIDC_ISSUER && !s.SIGNALBOX_OIDC_CLIENT_ID)
    problems.push('SIGNALBOX_OIDC_CLIENT_ID: required with SIGNALBOX_OIDC_ISSUER')
  if (s.SIGNALBOX_OIDC_ISSUER && s.SIGNALBOX_AUTH === 'none')
    problems.push('SIGNALBOX_AUTH: single sign-on (SIGNALBOX_OIDC_ISSUER) needs authentication on (tokens)')
  if (problems.length) throw new ConfigError(problems)
  if (s.SIGNALBOX_PAYLOAD_KEYS) parseKeyRing(s.SIGNALBOX_PAYLOAD_KEYS, 'SIGNALBOX_PAYLOAD_KEYS')
  return Object.freeze({
    host: s.SIGNALBOX_HOST,
    httpPort: s.SIGNALBOX_HTTP_PORT,
    otlpHttpPort: s.SIGNALBOX_OTLP_HTTP_PORT,
    otlpGrpcPort: s.SIGNALBOX_OTLP_GRPC_PORT,
    alertsMetricsPort: s.SIGNALBOX_ALERTS_METRICS_PORT,
    dataDir: resolve(s.SIGNALBOX_DATA_DIR),
    configDir: resolve(s.SIGNALBOX_CONFIG_DIR ?? (demo ? './config/demo' : './config')),
    logLevel: s.SIGNALBOX_LOG_LEVEL,
    clickhouse: Object.freeze({
      url: s.CLICKHOUSE_URL,
      user: s.CLICKHOUSE_USER,
      password: s.CLICKHOUSE_PASSWORD,
      database: s.CLICKHOUSE_DATABASE,
      cluster: s.CLICKHOUSE_CLUSTER,
      requestTimeoutSeconds: s.CLICKHOUSE_REQUEST_TIMEOUT_SECONDS,
    }),
    ingest: Object.freeze({
      maxBodyBytes: s.SIGNALBOX_MAX_BODY_BYTES,
      requestTimeoutMs: s.SIGNALBOX_REQUEST_TIMEOUT_SECONDS * 1000,
      maxHeaderBytes: s.SIGNALBOX_MAX_HEADER_BYTES,
      batchMaxRows: s.SIGNALBOX_BATCH_MAX_ROWS,
      batchMaxWaitMs: s.SIGNALBOX_BATCH_MAX_WAIT_MS,
      queueMaxRows: s.SIGNALBOX_QUEUE_MAX_ROWS,
      queueMaxBytes: s.SIGNALBOX_QUEUE_MAX_BYTES,
      maxWaitMs: s.SIGNALBOX_INGEST_MAX_WAIT_MS,
      maxAttributeLength: s.SIGNALBOX_MAX_ATTRIBUTE_LENGTH,
      maxRequestBytes: Math.min(
        s.SIGNALBOX_QUEUE_MAX_BYTES,
        Math.max(s.SIGNALBOX_QUEUE_MAX_BYTES / 4, 2 * s.SIGNALBOX_MAX_BODY_BYTES),
      ),
      threads: s.SIGNALBOX_INGEST_THREADS,
    }),
    retentionDays: Object.freeze({
      spans: s.SIGNALBOX_RETENTION_SPANS_DAYS,
      logs: s.SIGNALBOX_RETENTION_LOGS_DAYS,
      events: s.SIGNALBOX_RETENTION_EVENTS_DAYS,
      failed: s.SIGNALBOX_RETENTION_FAILED_DAYS,
      failedByFlow: Object.freeze(pairs(s.SIGNALBOX_RETENTION_FAILED_DAYS_BY_FLOW, Number)),
    }),
    query: Object.freeze({
      timeoutSeconds: s.SIGNALBOX_QUERY_TIMEOUT_SECONDS,
      maxRangeDays: s.SIGNALBOX_MAX_QUERY_RANGE_DAYS,
      readsPerCaller: s.SIGNALBOX_READS_PER_CALLER,
      rollupEveryMs: s.SIGNALBOX_ROLLUP_INTERVAL_SECONDS * 1000,
    }),
    demo: Object.freeze({ ordersPerMinute: s.SIGNALBOX_DEMO_ORDERS_PER_MINUTE }),
    auth: s.SIGNALBOX_AUTH ?? (s.SIGNALBOX_OIDC_ISSUER ? 'tokens' : 'none'),
    oidc: oidcSettings(s),
    sessionHours: s.SIGNALBOX_SESSION_HOURS,
    rateLimits: Object.freeze({
      apiPerMinute: s.SIGNALBOX_RATE_LIMIT_PER_MINUTE,
      ingestPerMinute: s.SIGNALBOX_INGEST_RATE_LIMIT_PER_MINUTE,
    }),
    payloadKeys: s.SIGNALBOX_PAYLOAD_KEYS,
    hashKey: s.SIGNALBOX_HASH_KEY ?? randomBytes(32).toString('base64'),
    replay: Object.freeze({
      callbackSecret: s.SIGNALBOX_CALLBACK_SECRET ?? `whsec_${randomBytes(32).toString('base64')}`,
      limit: s.SIGNALBOX_REPLAY_LIMIT,
      probeEveryMs: s.SIGNALBOX_CALLBACK_PROBE_SECONDS * 1000,
      callbackHosts: Object.freeze(s.SIGNALBOX_CALLBACK_HOSTS),
    }),
    publicUrl: (s.SIGNALBOX_PUBLIC_URL ?? `http://${s.SIGNALBOX_HOST}:${s.SIGNALBOX_HTTP_PORT}`).replace(
      /\/$/,
      '',
    ),
  })
}
