// IDNA (UTS #46, D15) without node:url, whose first import loads Deno's whole Node
// compatibility layer (README.md#speed): to A-labels through the WHATWG URL host parser, which runs
// the same UTS #46 ToASCII; A-labels back to U-labels with RFC 3492 punycode.

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
