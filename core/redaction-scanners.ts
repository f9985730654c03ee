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
