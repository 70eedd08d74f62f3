// Domain names in the forms the tool needs, each named after its use: the wire form sent as
// typed, the key replies are matched by, the policy and cache key, the display form, and
// Courier's domaincmp form. IDNA itself (UTS #46, RFC 3492) follows below.

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

/**
 * ASCII that the URL parser reads as syntax (`/`, `?`, `#`, `@`, `:`, brackets), decodes
 * (`%`), drops (tab, newline) or refuses, where UTS #46 alone keeps it as it is.
 */
// deno-lint-ignore no-control-regex
const URL_SYNTAX = /[\x00-\x20\x7f"#%/:<>?@[\\\]^`{|}]/;
// deno-lint-ignore no-control-regex
const URL_SYNTAX_ALL = /[\x00-\x20\x7f"#%/:<>?@[\\\]^`{|}]/g;
// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/** Whether `text` is all ASCII (and so its own UTF-8 length, and no IDNA to do). */
export function isAscii(text: string): boolean {
  return ASCII.test(text);
}

/**
 * UTS #46 ToASCII (non-transitional, without the STD3 rules), as node:url's `domainToASCII`:
 * upper-case ASCII mapped to lower case, U-labels to A-labels, other ASCII kept.
 *
 * @param name The domain; a trailing dot is kept.
 * @returns The A-label form, or "" when UTS #46 rejects the name, and also when it holds
 *   ASCII that URL syntax gives a meaning (`/`, `%`, `:`, `@`, space…) together with
 *   non-ASCII text (node:url passes such names through; none is a host name).
 */
export function domainToAscii(name: string): string {
  if (URL_SYNTAX.test(name)) {
    if (!ASCII.test(name)) return "";
    // UTS #46 keeps such ASCII; it still checks A-labels.
    const lower = name.toLowerCase();
    const labels = lower.split(".");
    return labels.every((l) => !l.startsWith("xn--") || labelToUnicode(l) !== undefined)
      ? lower
      : "";
  }
  // The URL parser reads a host whose last label is numeric as IPv4 (`a.09`, `１２７.１`):
  // one more label keeps every name a name, and is cut off again.
  let host: string;
  try {
    host = new URL(`http://${name}.x`).hostname;
  } catch {
    return "";
  }
  return host.endsWith(".x") ? host.slice(0, -2) : "";
}

const MAX_LABEL_OCTETS = 63;
const BASE = 36;
const T_MIN = 1;
const T_MAX = 26;
const SKEW = 38;
const DAMP = 700;
const MAX_INT = 0x7fffffff;

// RFC 3492 §6.1.
function adapt(delta: number, points: number, first: boolean): number {
  let d = first ? Math.floor(delta / DAMP) : delta >> 1;
  d += Math.floor(d / points);
  let k = 0;
  // Each turn divides d by 35: at most 6 turns for a 31-bit delta.
  while (d > ((BASE - T_MIN) * T_MAX) >> 1) {
    d = Math.floor(d / (BASE - T_MIN));
    k += BASE;
  }
  return k + Math.floor(((BASE - T_MIN + 1) * d) / (d + SKEW));
}

function digitOf(code: number): number | undefined {
  if (code >= 0x30 && code <= 0x39) return code - 22; // 0-9 are 26-35
  if (code >= 0x61 && code <= 0x7a) return code - 0x61;
  return undefined;
}

/** RFC 3492 §6.2 decoding of the part after `xn--`; undefined on any error. */
function decodePunycode(input: string): string | undefined {
  const delimiter = input.lastIndexOf("-");
  const output: number[] = [];
  for (let j = 0; j < Math.max(delimiter, 0); j++) output.push(input.charCodeAt(j));
  let n = 0x80;
  let i = 0;
  let bias = 72;
  let index = delimiter > 0 ? delimiter + 1 : 0;
  // Every turn of either loop consumes one input character: bounded by the label's length.
  while (index < input.length) {
    const old = i;
    let w = 1;
    for (let k = BASE;; k += BASE) {
      if (index >= input.length) return undefined;
      const digit = digitOf(input.charCodeAt(index++));
      if (digit === undefined || digit > Math.floor((MAX_INT - i) / w)) return undefined;
      i += digit * w;
      const t = k <= bias ? T_MIN : k >= bias + T_MAX ? T_MAX : k - bias;
      if (digit < t) break;
      if (w > Math.floor(MAX_INT / (BASE - t))) return undefined;
      w *= BASE - t;
    }
    const length = output.length + 1;
    bias = adapt(i - old, length, old === 0);
    if (Math.floor(i / length) > MAX_INT - n) return undefined;
    n += Math.floor(i / length);
    i %= length;
    if (n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return undefined;
    output.splice(i++, 0, n);
  }
  return String.fromCodePoint(...output);
}

/**
 * One A-label as its U-label, as node:url's `domainToUnicode` decodes it: only when the
 * punycode decodes and UTS #46 accepts the result, i.e. when converting it back gives the
 * same A-label (which rules out ASCII-only, unnormalised and disallowed results).
 *
 * @param label A label starting with `xn--`, in any case.
 * @returns The U-label, or undefined when it is not a valid A-label.
 */
export function labelToUnicode(label: string): string | undefined {
  const lower = label.toLowerCase();
  // An A-label is a DNS label, at most 63 octets (RFC 5890 §2.3.2.1, RFC 1035 §2.3.4); the
  // bound also keeps decoding, one insertion per character, from going quadratic.
  if (lower.length > MAX_LABEL_OCTETS) return undefined;
  if (!lower.startsWith("xn--") || !ASCII.test(lower) || lower.includes(".")) return undefined;
  const unicode = decodePunycode(lower.slice(4));
  if (unicode === undefined || ASCII.test(unicode)) return undefined;
  // UTS #46 validity (normalised, nothing mapped or disallowed) is what converting to an
  // A-label and back keeps unchanged; ASCII the URL parser would read as syntax is valid
  // there and stands in as a digit, which neither composes nor maps.
  const probe = unicode.replace(URL_SYNTAX_ALL, "0");
  const again = domainToAscii(probe);
  return again.startsWith("xn--") && decodePunycode(again.slice(4)) === probe ? unicode : undefined;
}
