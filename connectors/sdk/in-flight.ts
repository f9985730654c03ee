/**
 * Work started and not yet finished, so a caller can stop starting more and wait for the rest (a load
 * report counts what was sent only once every send has ended).
 */
export class InFlight {
  private readonly pending = new Set<Promise<unknown>>()

  /** Tracks `work` until it settles; returns it unchanged. */
  track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work)
    const done = () => this.pending.delete(work)
    work.then(done, done)
    return work
  }

  /** Resolves once nothing is in flight, the work tracked while waiting included. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending])
  }
}
