/** A column of a DataTable: its heading, and the value it sorts by (none: not sortable). */
export interface Column<R> {
  readonly label: string
  readonly sort?: (row: R) => string | number | null | undefined
  /** Right-aligned, and sorted largest first on the first click. */
  readonly numeric?: boolean
}
