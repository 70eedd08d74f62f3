// MTA-STS policy text (RFC 8461 §3.2) to a checked policy, strict where D8 says a sender must
// not guess (required fields, ranges) and tolerant, with a warning, where senders commonly are.
// Fetching the text is fetch.ts's job; matching MX hosts is match.ts's.
import { isAscii } from "../names.ts";
import { policyName } from "../names.ts";
import { isIpLiteral } from "./_name.ts";
import { quote, trimWsp } from "./_text.ts";
import { StsError } from "./errors.ts";

/** How a sender applies the policy (RFC 8461 §5). */
export type StsMode = "enforce" | "testing" | "none";

/** A policy that passed {@linkcode parsePolicy}. */
export interface StsPolicy {
  /** Always `STSv1`, the only version RFC 8461 defines. */
  version: "STSv1";
  /** The mode. */
  mode: StsMode;
  /** Seconds the policy may be cached, 0 to {@linkcode MAX_MAX_AGE}. */
  maxAge: number;
  /** The `mx` patterns in order, as written (white space trimmed). */
  mx: string[];
  /** The text in the form the cache stores and `--sts` prints: {@linkcode courierText}. */
  text: string;
}

/** A policy and the tolerated deviations found in it, one stderr line each. */
export interface ParsedPolicy {
  /** The policy. */
  policy: StsPolicy;
  /** Deviations that keep the policy (blank lines, stray white space, odd `mx` values). */
  warnings: string[];
}

/** The largest policy accepted, in bytes (64 KiB; Courier's own download stops at 65534). */
export const MAX_POLICY_BYTES = 65536;
/** The largest `max_age` allowed by RFC 8461 §3.2 (about one year). */
export const MAX_MAX_AGE = 31557600;

const SINGLE_FIELDS = ["version", "mode", "max_age"] as const;
type SingleField = typeof SINGLE_FIELDS[number];
/** The policy modes of RFC 8461 §3.2. */
export const STS_MODES: readonly StsMode[] = ["enforce", "testing", "none"];
// sts-policy-ext-name; the known field names fit it too.
const FIELD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
// The grammar allows no control character but HTAB (sts-policy-vchar, WSP).
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
const encoder = new TextEncoder();

/**
 * Checks a policy against RFC 8461 §3.2 as D8 applies it.
 *
 * Lines end in LF or CRLF. `version: STSv1`, `mode` (enforce, testing, none) and `max_age`
 * (plain digits, at most 31557600) are required, and at least one `mx` unless the mode is
 * none. Unknown fields are ignored. A repeated `version`, `mode` or `max_age` counts once, the
 * first (RFC 8461 §3.2, as Courier), and each repetition is a warning.
 *
 * @param text The policy as served, decoded as UTF-8.
 * @returns The policy and its warnings.
 * @throws {StsError} `POLICY_INVALID` with the reason.
 *
 * @example Accept, tolerate, reject
 * ```ts
 * import { parsePolicy } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const { policy, warnings } = parsePolicy(
 *   "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.example.net\r\n" +
 *     "max_age: 604800\r\n",
 * );
 * assert.equal(policy.mode, "enforce");
 * assert.equal(policy.maxAge, 604800);
 * assert.deepEqual(policy.mx, ["mx1.example.com", "*.example.net"]);
 * assert.deepEqual(warnings, []);
 * // The cache form: CRLF turned into LF.
 * assert.equal(policy.text.includes("\r"), false);
 *
 * // An IP address as an mx value is kept, with a warning, and never matches.
 * const odd = parsePolicy("version: STSv1\nmode: testing\nmx: 192.0.2.1\nmax_age: 86400\n");
 * assert.equal(odd.warnings.length, 1);
 *
 * assert.throws(
 *   () => parsePolicy("version: STSv1\nmode: enforce\nmax_age: 86400\n"),
 *   { name: "StsError", kind: "POLICY_INVALID" },
 * );
 * ```
 */
export function parsePolicy(text: string): ParsedPolicy {
  const size = encoder.encode(text).length;
  if (size > MAX_POLICY_BYTES) invalid(`${size} bytes, over the limit of ${MAX_POLICY_BYTES}`);
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.length === 0) invalid("the policy is empty");

  const single = new Map<SingleField, { value: string; line: number }>();
  const mx: { value: string; line: number }[] = [];
  const names = new Set<string>();
  const deviations = {
    blank: [] as number[],
    spaceInKey: [] as number[],
    trailing: [] as number[],
  };
  const warnings: string[] = [];

  for (const [index, raw] of lines.entries()) {
    const n = index + 1;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const control = CONTROL.exec(line);
    if (control) {
      const code = control[0].charCodeAt(0).toString(16).padStart(2, "0");
      invalid(`line ${n} contains the control character 0x${code}`);
    }
    if (/^[ \t]*$/.test(line)) {
      deviations.blank.push(n);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon < 0) invalid(`line ${n} ${quote(line, 100)} is not "name: value"`);
    const name = trimWsp(line.slice(0, colon));
    if (name !== line.slice(0, colon)) deviations.spaceInKey.push(n);
    if (!FIELD_NAME.test(name)) invalid(`line ${n}: ${quote(name, 100)} is not a field name`);
    names.add(name);
    const value = trimWsp(line.slice(colon + 1));
    if (/[ \t]$/.test(line)) deviations.trailing.push(n);

    if (name === "mx") mx.push({ value, line: n });
    else if (isSingleField(name)) {
      // RFC 8461 §3.2: "If any non-repeated field--i.e., all fields excepting "mx"--is
      // duplicated, all entries except for the first SHALL be ignored."
      const first = single.get(name);
      if (first === undefined) single.set(name, { value, line: n });
      else if (first.value === value) warnings.push(`line ${n} repeats line ${first.line}`);
      else {
        warnings.push(
          `line ${n} ${quote(`${name}: ${value}`, 100)} is ignored: line ${first.line} ` +
            `${quote(`${name}: ${first.value}`, 100)} came first (RFC 8461 §3.2)`,
        );
      }
    }
  }

  const version = required(single, "version", names);
  if (version !== "STSv1") invalid(`version ${quote(version, 100)} is not "STSv1"`);
  const mode = required(single, "mode", names);
  if (!(STS_MODES as readonly string[]).includes(mode)) {
    invalid(`mode ${quote(mode, 100)} is not enforce, testing or none`);
  }
  const maxAgeText = required(single, "max_age", names);
  // sts-policy-max-age-value = 1*10(DIGIT): no sign, no white space inside, no junk.
  if (!/^[0-9]{1,10}$/.test(maxAgeText)) {
    invalid(`max_age ${quote(maxAgeText, 100)} is not a number`);
  }
  const maxAge = Number(maxAgeText);
  if (maxAge > MAX_MAX_AGE) invalid(`max_age ${maxAge} is over ${MAX_MAX_AGE} (RFC 8461 §3.2)`);
  if (mode !== "none" && mx.length === 0) invalid(`mode ${mode} needs at least one "mx" field`);

  for (const { value, line } of mx) {
    const problem = patternProblem(value);
    if (problem) warnings.push(`line ${line}: mx ${quote(value, 100)} ${problem}`);
  }
  const { blank, spaceInKey, trailing } = deviations;
  if (blank.length > 0) {
    warnings.push(
      `blank ${lineList(blank)}, which RFC 8461 §3.2 does not allow; ` +
        "Courier ignores every field after a blank line",
    );
  }
  if (spaceInKey.length > 0) {
    warnings.push(`white space before a field name or its ":" on ${lineList(spaceInKey)}`);
  }
  if (trailing.length > 0) warnings.push(`white space at the end of ${lineList(trailing)}`);

  return {
    policy: {
      version: "STSv1",
      mode: mode as StsMode,
      maxAge,
      mx: mx.map((m) => m.value),
      text: courierText(text),
    },
    warnings,
  };
}

/**
 * The text as Courier caches and prints it: every CR deleted and every NUL turned into a
 * space (docs/courier.md#download). For a policy {@linkcode parsePolicy} accepts, this only turns
 * CRLF into LF, so the cached text parses to the same policy; Courier reads our files unchanged.
 *
 * @param text A policy text.
 * @returns The text without CR and NUL.
 */
export function courierText(text: string): string {
  return text.replaceAll("\r", "").replaceAll("\0", " ");
}

function isSingleField(name: string): name is SingleField {
  return (SINGLE_FIELDS as readonly string[]).includes(name);
}

function required(
  fields: Map<SingleField, { value: string }>,
  name: SingleField,
  names: Set<string>,
): string {
  const field = fields.get(name);
  if (field !== undefined) return field.value;
  // Field names are case-sensitive (%s in RFC 8461's ABNF); say so when "Mode:" is present.
  const lookalike = [...names].find((n) => n.toLowerCase() === name);
  invalid(
    `no "${name}" field` +
      (lookalike ? ` (names are case-sensitive; found ${quote(lookalike)})` : ""),
  );
}

// RFC 8461 §3.2: sts-policy-mx-value = ["*."] Domain. A value that is not one stays in the
// policy and never matches (match.ts), so an enforce policy fails closed for it; U-labels and
// "_" are not a Domain either, but their meaning is plain, so they match, with a warning (D30).
function patternProblem(value: string): string | undefined {
  if (value === "") return "is empty and never matches";
  if (isIpLiteral(value) || value.startsWith("[")) {
    return "is an IP address, not a host name, and never matches";
  }
  if (value.startsWith(".")) {
    return `is not a pattern (RFC 8461 §4.1 wants ${quote("*" + value)}) and never matches`;
  }
  const wildcard = value.startsWith("*.") ? "*." : "";
  if (wildcard && isIpLiteral(value.slice(2))) {
    return "is a wildcard over an IP address, which no MX host name is under";
  }
  const ascii = policyName(value.slice(wildcard.length));
  if (ascii === undefined) return "is not a host name pattern and never matches";
  if (value.endsWith(".")) return "ends in a dot, which Courier never matches";
  if (!isAscii(value)) {
    return `is not written in A-labels (RFC 8461 §3.2); matched as ${quote(wildcard + ascii)}`;
  }
  if (value.includes("_")) return 'contains "_", which no host name has (RFC 5321 Domain)';
  return undefined;
}

function lineList(lines: number[]): string {
  return (lines.length === 1 ? "line " : "lines ") + lines.join(", ");
}

function invalid(reason: string): never {
  throw new StsError("POLICY_INVALID", `Invalid policy: ${reason}`);
}
