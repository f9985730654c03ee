/**
 * The rows of a flow's metrics, as both reads give them: from every entity's state
 * (store/queries/flow-metrics.ts) and from the per-minute tallies (store/queries/flow-tallies.ts).
 */

export interface ThroughputRow {
  readonly bucket: string
  readonly channel: string
  readonly entities: string
}

export interface LatencyRow {
  /** 0 for the whole range. */
  readonly bucket: string
  readonly stage_index: string
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly entities: string
}

export interface ProgressRow {
  /** Entities that entered the flow in the range. */
  readonly started: string
  /** Per stage, how many of them reached it. */
  readonly reached: string[]
  readonly completed: string
  readonly terminated: string
  /**
   * Per stage, entities waiting after it now (active since `since`, not ended): awaiting a later stage
   * that counts from it, the next one or one passed over (`withAwaitedStage`, the stuck list's rule).
   */
  readonly waiting: string[]
}

export interface ProgressAndThroughput {
  readonly progress: ProgressRow | undefined
  /** Entities entering the flow per bucket, by channel (the channel their first event named). */
  readonly throughput: ThroughputRow[]
}
