/**
 * Hand-written scanners for redaction patterns whose regex would backtrack quadratically on untrusted
 * text. Each one finds exactly what `text.replace(regex, replace)` finds (leftmost, greedy,
 * non-overlapping matches, resuming after each one), in time linear in the length of the text.
 */

/** `[A-Za-z0-9._%+-]`: a character of an e-mail's local part. */
function isLocal(c: number): boolean {
  return isDomain(c) || c === 0x5f /* _ */ || c === 0x25 /* % */ || c === 0x2b /* + */
}

/** `[A-Za-z0-9.-]`: a character of an e-mail's domain. */
function isDomain(c: number): boolean {
  return isLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x2e /* . */ || c === 0x2d /* - */
}

/** `[A-Za-z]` */
function isLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
}

/** `\.[A-Za-z]{2}` at `i`: where an e-mail's top-level domain can start. */
function startsTopLevel(text: string, i: number): boolean {
  return text.charCodeAt(i) === 0x2e && isLetter(text.charCodeAt(i + 1)) && isLetter(text.charCodeAt(i + 2))
}

/**
 * `text.replace(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, replace)`, in linear time. The regex
 * retries every start in a long run of local-part characters and rescans the run and the domain after
 * it each time, so its time grows with the square of the length: a 128 KB `aaa…@aaa…` blocked for 10 to
 * 40 s, a 1 MB one would block for tens of minutes. This scanner takes about 10 ms for 1 MB.
 *
 * The same matches, found from the `@` instead: neither character class holds `@`, so a match's local
 * part is the run of local-part characters just left of an `@` (the leftmost start is where that run
 * begins, or where the last match ended), and its domain lies in the run of domain characters just
 * right of it. Of that run, the greedy `[A-Za-z0-9.-]+` keeps as much as it can, so the top-level
 * domain starts at the last `.` (after at least one domain character) that two letters follow, and takes
 * every letter after it. An `@` without both parts starts no match. No run crosses an `@`, so each character
 * is read a few times at most.
 */
export function replaceEmails(text: string, replace: (match: string) => string): string {
  let out = ''
  let done = 0 // where the last match ended: matches do not overlap
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    let start = at
    while (start > done && isLocal(text.charCodeAt(start - 1))) start--
    if (start === at) continue
    let domainEnd = at + 1
    while (domainEnd < text.length && isDomain(text.charCodeAt(domainEnd))) domainEnd++
    // The last `.` followed by two letters, leaving at least one domain character before it.
    let dot = domainEnd - 3
    while (dot > at + 1 && !startsTopLevel(text, dot)) dot--
    if (dot <= at + 1) continue
    let end = dot + 3
    while (end < text.length && isLetter(text.charCodeAt(end))) end++
    out += text.slice(done, start) + replace(text.slice(start, end))
    done = end
  }
  return done === 0 ? text : out + text.slice(done)
}

/** What `hints` found: an `@`, a `+`, four digits in a row, two capitals then two digits. */
export const HINT_AT = 1
export const HINT_PLUS = 2
export const HINT_DIGITS = 4
export const HINT_IBAN = 8

/**
 * Which patterns could match `text`, in one pass: an e-mail needs an `@`, a phone number a `+`, a card
 * `/\d{4}/` and an IBAN `/[A-Z]{2}\d{2}/`. Most values hold none of them (a route, a host, a method),
 * and one scan of a short string costs less than a search or a regex test for each.
 */
export function hints(text: string): number {
  let found = 0
  let digits = 0 // digits in a row ending here
  let capitals = 0 // capitals in a row ending here
  let capitalsBefore = 0 // capitals in a row just before the current run of digits
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0x30 && c <= 0x39) {
      if (digits === 0) capitalsBefore = capitals
      digits++
      capitals = 0
      if (digits >= 4) found |= HINT_DIGITS
      if (digits >= 2 && capitalsBefore >= 2) found |= HINT_IBAN
      continue
    }
    digits = 0
    if (c >= 0x41 && c <= 0x5a) capitals++
    else {
      capitals = 0
      if (c === 0x40) found |= HINT_AT
      else if (c === 0x2b) found |= HINT_PLUS
    }
  }
  return found
}
