/**
 * Each cell of a `table.compact` carries its column's heading (`data-label`), so on a phone, where
 * app.css stacks a row's cells instead of making the reader scroll sideways, every value still says
 * what it is ("replays: 2"). A cell under a `numeric` heading (DataTable's numeric columns) is
 * `numeric` too, so figures line up on the right under their heading. Run over the page as it
 * changes, it covers tables added later too.
 */
export function labelCells(root: ParentNode): void {
  for (const table of root.querySelectorAll<HTMLTableElement>('table.compact')) {
    const headings = [...table.querySelectorAll('thead tr:last-child th')]
    if (headings.length === 0) continue
    const labels = headings.map(heading)
    const numeric = headings.map((th) => th.classList.contains('numeric'))
    for (const row of table.querySelectorAll('tbody tr')) {
      let column = 0
      for (const cell of row.children) {
        const label = labels[column]
        if (label && cell.getAttribute('data-label') !== label) cell.setAttribute('data-label', label)
        if (cell.classList.contains('numeric') !== !!numeric[column]) cell.classList.toggle('numeric')
        column += (cell as HTMLTableCellElement).colSpan || 1
      }
    }
  }
}

/** A heading's words as a reader hears them: a sort arrow (`aria-hidden`) is not part of its name. */
function heading(th: Element): string {
  let text = ''
  const walk = (node: Node) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) text += child.textContent ?? ''
      else if (child instanceof Element && child.getAttribute('aria-hidden') !== 'true') walk(child)
    }
  }
  walk(th)
  return text.trim()
}

/** Keeps the labels as the page renders: once per frame at most, whatever the number of changes. */
export function keepCellsLabelled(main: HTMLElement): () => void {
  let queued = 0
  const run = () => {
    queued = 0
    labelCells(main)
  }
  run()
  const observer = new MutationObserver(() => {
    queued ||= requestAnimationFrame(run)
  })
  observer.observe(main, { subtree: true, childList: true })
  return () => {
    observer.disconnect()
    cancelAnimationFrame(queued)
  }
}
