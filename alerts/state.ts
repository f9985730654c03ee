/**
 * The alert instance state machine (after Grafana's alert states): normal → pending → firing →
 * resolved, plus nodata and error. Pure: the evaluator persists what it returns, with the reason.
 * Only entering `firing` and `resolved` notifies.
 */
export type AlertState = 'normal' | 'pending' | 'firing' | 'resolved' | 'nodata' | 'error'

export interface InstanceState {
  readonly state: AlertState
  /** When the current state began (ms). */
  readonly sinceMs: number
  readonly firedAtMs: number | null
}

/** What one evaluation saw: the condition holds, does not, had no data, or could not be computed. */
export type Observation =
  | { readonly kind: 'true' | 'false' | 'nodata'; readonly reason: string }
  | { readonly kind: 'error'; readonly reason: string }

export interface Transition {
  readonly from: AlertState
  readonly to: AlertState
  readonly reason: string
}

export const INITIAL: InstanceState = { state: 'normal', sinceMs: 0, firedAtMs: null }

/**
 * The next state. `forMs` is how long the condition must hold before firing (0: at once). While
 * firing, no data or an evaluation error keeps the alert firing (the outage may be what silenced the
 * data); the reason is still recorded.
 */
export function step(
  current: InstanceState,
  seen: Observation,
  nowMs: number,
  forMs: number,
): { next: InstanceState; transition?: Transition } {
  const move = (to: AlertState, reason = seen.reason) => ({
    next: {
      state: to,
      sinceMs: nowMs,
      firedAtMs: to === 'firing' ? nowMs : current.firedAtMs,
    },
    transition: { from: current.state, to, reason },
  })
  const stay = { next: current }
  const { state } = current

  if (seen.kind === 'true') {
    if (state === 'firing') return stay
    if (state === 'pending')
      return nowMs - current.sinceMs >= forMs
        ? move('firing', `${seen.reason} (for ${Math.round((nowMs - current.sinceMs) / 1000)}s)`)
        : stay
    return forMs === 0 ? move('firing') : move('pending')
  }
  if (seen.kind === 'false') {
    if (state === 'firing') return move('resolved')
    if (state === 'pending' || state === 'nodata' || state === 'error') return move('normal')
    return stay
  }
  if (state === 'firing') return stay
  if (seen.kind === 'nodata') return state === 'nodata' ? stay : move('nodata')
  return state === 'error' ? stay : move('error')
}
