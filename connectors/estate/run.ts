/**
 * A run of the simulated estate: the mark its ids carry so that a restart, a second `signalbox load`
 * or two estates side by side never reuse an order, return or stock change id. The simulators keep
 * no state across processes, like systems freshly restored; a real storefront's and ERP's number
 * series carry on, and the run mark stands in for that.
 */
let lastSecond = 0

/**
 * The second the run started (base 36) and this process (the pid, base 36, two digits): unique for
 * runs started in different seconds, for processes running at once, and, bumped on, for runs started
 * within one second in one process. Eight characters, upper case: `T6ZK1C0Q`.
 */
export function newRunId(now = Date.now(), pid = process.pid): string {
  const second = Math.max(Math.floor(now / 1000), lastSecond + 1)
  lastSecond = second
  const proc = (pid % 36 ** 2).toString(36).padStart(2, '0')
  return `${second.toString(36)}${proc}`.toUpperCase()
}
