// Domain names in the forms the tool needs, each named after its use: the wire form sent as
// typed, the key replies are matched by, the policy and cache key, the display form, and
// Courier's domaincmp form. IDNA itself (UTS #46, RFC 3492) is lib/idna.ts.
import { domainToAscii, isAscii, labelToUnicode } from "./idna.ts";

/**
 * The name as it goes on the wire: a pure-ASCII name exactly as typed (case kept, as Courier
 * sends it), any other through UTS #46 to A-labels (D15).
 *
 * @param name The name as typed or completed, without trailing dot.
 * @returns The ASCII name, or undefined when IDNA conversion fails.
 */
export function wireName(name: string): string | undefined {
  if (isAscii(name)) return name;
  const ascii = domainToAscii(name);
  return ascii === "" ? undefined : ascii;
}

/** What {@linkcode nameKey} changes: an upper-case letter, a run of dots, a trailing dot. */
const UNFOLDED = /[A-Z]|\.\.|\.$/;

/**
 * The key under which two names in DNS messages are the same name: ASCII letters folded to
 * lower case (RFC 4343 §3: other octets compare exactly), a run of dots as one dot, no
 * trailing dot (Courier's rule for matching records to the name asked).
 *
 * @param name A name from a question, a record or a CNAME target.
 * @returns The key; the name itself, without a copy, when nothing needs folding.
 */
export function nameKey(name: string): string {
  if (!UNFOLDED.test(name)) return name; // most names, and every name twice per query
  return name.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) | 0x20))
    .replace(/\.{2,}/g, ".")
    .replace(/\.$/, "");
}

/**
 * Whether two names in DNS messages are the same name (see {@linkcode nameKey}).
 *
 * @param a One name.
 * @param b The other.
 * @returns True when their keys are equal.
 */
export function sameName(a: string, b: string): boolean {
  if (a === b) return true;
  // Every record of every reply passes here: compare in place, without folded copies.
  if (a.length === b.length && equalFoldingAscii(a, b)) return true;
  // Only a run of dots or a trailing dot can still make two names the same.
  if (!hasDotRunOrEnd(a) && !hasDotRunOrEnd(b)) return false;
  return nameKey(a) === nameKey(b);
}

/** Whether two strings of one length are equal with ASCII letters folded. */
function equalFoldingAscii(a: string, b: string): boolean {
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}

function hasDotRunOrEnd(name: string): boolean {
  return name.endsWith(".") || name.includes("..");
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
/** Names whose policy key is their lower-case form: ASCII host-name characters, no A-label. */
const PLAIN_HOST = /^[A-Za-z0-9_.-]*$/;
const A_LABEL = /(?:^|\.)xn--/i;

/**
 * The name as the STS cache, the policy URL and MX matching use it (D9, D15): lower-case
 * A-labels without the trailing dot, or undefined when it is not a host name: an empty
 * label, a character outside letters, digits, `-` and `_`, a label over 63 octets or a name
 * over 253 (RFC 1035 §2.3.4 with the root dot left out).
 *
 * @param name A domain as typed, or a host name from a record or a policy.
 * @returns The key, or undefined.
 */
export function policyName(name: string): string | undefined {
  const bare = name.endsWith(".") ? name.slice(0, -1) : name;
  // UTS #46 maps such names to their lower case and nothing else: no URL parse needed.
  const ascii = PLAIN_HOST.test(bare) && !A_LABEL.test(bare)
    ? bare.toLowerCase()
    // UTS #46 keeps "/", "," and spaces (STD3 rules off), so the result is checked below.
    : domainToAscii(bare);
  if (ascii === "" || ascii.length > 253) return undefined;
  return ascii.split(".").every((label) => LABEL.test(label)) ? ascii : undefined;
}

/**
 * A-labels decoded to U-labels, label by label; undefined when `whole` and a label does not
 * decode. Other labels keep their case.
 */
function decodeLabels(name: string, whole: boolean): string | undefined {
  if (!A_LABEL.test(name)) return name;
  const labels = name.split(".");
  for (let i = 0; i < labels.length; i++) {
    if (!/^xn--/i.test(labels[i])) continue;
    const unicode = labelToUnicode(labels[i]);
    if (unicode !== undefined) labels[i] = unicode;
    else if (whole) return undefined;
  }
  return labels.join(".");
}

/**
 * The name as Courier prints an MX host (`xn--bcher-kva.idn.test` → `bücher.idn.test`):
 * A-labels decoded label by label, other labels and their case kept.
 *
 * @param name A name from a DNS reply.
 * @returns The display form; a label that does not decode stays as it is.
 */
export function displayName(name: string): string {
  return decodeLabels(name, false)!;
}

/**
 * The form Courier's domaincmp compares for `[ LOCAL ]` (`locals`, `me`): A-labels decoded
 * when every one of them decodes (else the text as it is), then Unicode lower case.
 *
 * @param name A host name or a `locals` line.
 * @returns The folded form.
 */
export function domaincmpName(name: string): string {
  return (decodeLabels(name, true) ?? name).toLowerCase();
}
