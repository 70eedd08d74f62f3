// Domain name comparison as Courier does it when matching records (resolver.md §9).

/** What {@linkcode nameKey} changes: an upper-case letter, a run of dots, a trailing dot. */
const UNFOLDED = /[A-Z]|\.\.|\.$/;

/**
 * The form in which two names compare equal: ASCII letters folded to lower case (RFC 4343 §3:
 * other octets are compared exactly), a run of dots as one dot, no trailing dot.
 */
export function nameKey(name: string): string {
  if (!UNFOLDED.test(name)) return name; // most names, and every name twice per query
  return name.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) | 0x20))
    .replace(/\.{2,}/g, ".")
    .replace(/\.$/, "");
}

/** Whether two names are the same name. */
export function sameName(a: string, b: string): boolean {
  return a === b || nameKey(a) === nameKey(b);
}
