import assert from "node:assert/strict";
import { quote } from "../../lib/errors.ts";
import { courierText, MAX_POLICY_BYTES, parsePolicy } from "../../lib/sts/policy.ts";

const RFC_EXAMPLE = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n" +
  "mx: backupmx.example.com\nmax_age: 604800\n";
const lines = (...text: string[]) => text.join("\n") + "\n";
const BASE = ["version: STSv1", "mode: enforce", "mx: mx.a.test", "max_age: 86400"];

Deno.test("parsePolicy() accepts the RFC 8461 §3.2 example without warnings", () => {
  assert.deepEqual(parsePolicy(RFC_EXAMPLE), {
    policy: {
      version: "STSv1",
      mode: "enforce",
      maxAge: 604800,
      mx: ["mail.example.com", "*.example.net", "backupmx.example.com"],
      text: RFC_EXAMPLE,
    },
    warnings: [],
  });
});

Deno.test("parsePolicy() accepts CRLF and keeps the text with LF only, as Courier caches it", () => {
  const { policy, warnings } = parsePolicy(RFC_EXAMPLE.replaceAll("\n", "\r\n"));
  assert.equal(policy.text, RFC_EXAMPLE);
  assert.equal(policy.maxAge, 604800);
  assert.deepEqual(warnings, []);
});

// [case, text, check on the policy].
const VALID: [string, string, (p: ReturnType<typeof parsePolicy>["policy"]) => unknown][] = [
  ["no final line break", BASE.join("\n"), (p) => assert.equal(p.maxAge, 86400)],
  ["fields in any order", lines(...[...BASE].reverse()), (p) => assert.equal(p.mode, "enforce")],
  [
    "mode none without mx",
    lines("version: STSv1", "mode: none", "max_age: 0"),
    (p) => assert.deepEqual(p.mx, []),
  ],
  ["mode testing", lines(...BASE.with(1, "mode: testing")), (p) => assert.equal(p.mode, "testing")],
  ["max_age 0", lines(...BASE.with(3, "max_age: 0")), (p) => assert.equal(p.maxAge, 0)],
  [
    "max_age 31557600",
    lines(...BASE.with(3, "max_age: 31557600")),
    (p) => assert.equal(p.maxAge, 31557600),
  ],
  [
    "max_age with leading zeros",
    lines(...BASE.with(3, "max_age: 0000086400")),
    (p) => assert.equal(p.maxAge, 86400),
  ],
  [
    "no space after the colon",
    lines(...BASE.with(1, "mode:testing")),
    (p) => assert.equal(p.mode, "testing"),
  ],
  [
    "a tab after the colon",
    lines(...BASE.with(1, "mode:\ttesting")),
    (p) => assert.equal(p.mode, "testing"),
  ],
  ["an unknown field", lines(...BASE, "foo: bar baz"), (p) => assert.equal(p.mode, "enforce")],
  [
    "an unknown field with an empty value",
    lines(...BASE, "foo:"),
    (p) => assert.equal(p.mode, "enforce"),
  ],
];

for (const [name, text, check] of VALID) {
  Deno.test(`parsePolicy() accepts ${name}`, () => {
    const { policy, warnings } = parsePolicy(text);
    check(policy);
    assert.deepEqual(warnings, []);
  });
}

// [case, text, reason after "Invalid policy: "]. Courier accepts every one of these (S13).
const INVALID: [string, string, string | RegExp][] = [
  ["an empty text", "", "the policy is empty"],
  ["only a line break", "\n", /^no "version" field$/],
  ["no version", lines(...BASE.slice(1)), 'no "version" field'],
  ["version STSv2", lines(...BASE.with(0, "version: STSv2")), 'version "STSv2" is not "STSv1"'],
  [
    "a tab inside the version",
    lines(...BASE.with(0, "version: STSv1\tx")),
    'version "STSv1\\x09x" is not "STSv1"',
  ],
  ["no mode", lines(...BASE.toSpliced(1, 1)), 'no "mode" field'],
  [
    "mode Enforce",
    lines(...BASE.with(1, "mode: Enforce")),
    'mode "Enforce" is not enforce, testing or none',
  ],
  ["mode with two words", lines(...BASE.with(1, "mode: testing x")), /^mode "testing x"/],
  [
    "Mode: as the field name",
    lines(...BASE.with(1, "Mode: enforce")),
    'no "mode" field (names are case-sensitive; found "Mode")',
  ],
  ["no max_age (Courier: 600)", lines(...BASE.slice(0, 3)), 'no "max_age" field'],
  ["max_age -5", lines(...BASE.with(3, "max_age: -5")), 'max_age "-5" is not a number'],
  [
    "max_age 86400junk",
    lines(...BASE.with(3, "max_age: 86400junk")),
    'max_age "86400junk" is not a number',
  ],
  ["max_age with 11 digits", lines(...BASE.with(3, "max_age: 00000086400")), /is not a number/],
  [
    "max_age 31557601",
    lines(...BASE.with(3, "max_age: 31557601")),
    "max_age 31557601 is over 31557600 (RFC 8461 §3.2)",
  ],
  [
    "enforce without mx",
    lines(...BASE.toSpliced(2, 1)),
    'mode enforce needs at least one "mx" field',
  ],
  [
    "testing without mx",
    lines(...BASE.toSpliced(2, 1).with(1, "mode: testing")),
    /mode testing needs/,
  ],
  ["a NUL byte", lines(...BASE, "x: a\0b"), "line 5 contains the control character 0x00"],
  [
    "a lone CR",
    lines("version: STSv1\rmode: enforce", ...BASE.slice(2)),
    "line 1 contains the control character 0x0d",
  ],
  ["a line without a colon", lines(...BASE, "garbage"), 'line 5 "garbage" is not "name: value"'],
  [
    "a field name with a space",
    lines(...BASE, "my key: x"),
    'line 5: "my key" is not a field name',
  ],
  [
    "a repeated field whose first value is invalid (RFC 8461 §3.2: the first counts)",
    lines(...BASE.with(1, "mode: bogus"), "mode: enforce"),
    'mode "bogus" is not enforce, testing or none',
  ],
  [
    "a policy over 64 KiB",
    lines(...BASE, "x: " + "y".repeat(MAX_POLICY_BYTES)),
    /^\d+ bytes, over the limit of 65536$/,
  ],
];

for (const [name, text, reason] of INVALID) {
  Deno.test(`parsePolicy() rejects ${name}`, () => {
    const expected = typeof reason === "string" ? `Invalid policy: ${reason}` : reason;
    assert.throws(() => parsePolicy(text), (error: { kind: string; message: string }) => {
      assert.equal(error.kind, "POLICY_INVALID");
      if (typeof expected === "string") assert.equal(error.message, expected);
      else assert.match(error.message.replace(/^Invalid policy: /, ""), expected);
      return true;
    });
  });
}

Deno.test("parsePolicy() accepts a policy of exactly 64 KiB", () => {
  const head = lines(...BASE) + "x: ";
  const text = head + "y".repeat(MAX_POLICY_BYTES - head.length - 1) + "\n";
  assert.equal(text.length, MAX_POLICY_BYTES);
  assert.equal(parsePolicy(text).policy.mode, "enforce");
});

// [case, text, warnings]. The policy is kept in every case (D8).
const WARNED: [string, string, string[]][] = [
  [
    "a blank line, reading the fields after it (Courier ignores them)",
    lines("version: STSv1", "", "mode: enforce", "mx: mx.a.test", "max_age: 86400"),
    ["blank line 2, which RFC 8461 §3.2 does not allow; Courier ignores every field after a blank line"],
  ],
  ["blank lines at the end", lines(...BASE, "", " "), [
    "blank lines 5, 6, which RFC 8461 §3.2 does not allow; Courier ignores every field after a blank line",
  ]],
  ["trailing white space", lines(...BASE.with(1, "mode: enforce \t")), [
    "white space at the end of line 2",
  ]],
  ["white space before the field name or colon", lines(...BASE.with(0, " version : STSv1")), [
    'white space before a field name or its ":" on line 1',
  ]],
  ["a repeated field with the same value", lines(...BASE, "mode: enforce"), [
    "line 5 repeats line 2",
  ]],
  // RFC 8461 §3.2: "all entries except for the first SHALL be ignored"; Courier too.
  ["a repeated mode with another value", lines(...BASE, "mode: testing"), [
    'line 5 "mode: testing" is ignored: line 2 "mode: enforce" came first (RFC 8461 §3.2)',
  ]],
  ["a repeated mode with an invalid value", lines(...BASE, "mode: bogus"), [
    'line 5 "mode: bogus" is ignored: line 2 "mode: enforce" came first (RFC 8461 §3.2)',
  ]],
  ["a U-label mx (D30)", lines(...BASE, "mx: *.bücher.example"), [
    'line 5: mx "*.b\\xfccher.example" is not written in A-labels (RFC 8461 §3.2); matched as ' +
    '"*.xn--bcher-kva.example"',
  ]],
  ["an mx with _ (D30)", lines(...BASE, "mx: mail_1.a.test"), [
    'line 5: mx "mail_1.a.test" contains "_", which no host name has (RFC 5321 Domain)',
  ]],
  ["an IP address as mx", lines(...BASE, "mx: 192.0.2.1"), [
    'line 5: mx "192.0.2.1" is an IP address, not a host name, and never matches',
  ]],
  ["a wildcard over an IP address", lines(...BASE, "mx: *.192.0.2.1"), [
    'line 5: mx "*.192.0.2.1" is a wildcard over an IP address, which no MX host name is under',
  ]],
  ["an address literal as mx", lines(...BASE, "mx: [192.0.2.1]"), [
    'line 5: mx "[192.0.2.1]" is an IP address, not a host name, and never matches',
  ]],
  ["the draft syntax .example.com", lines(...BASE, "mx: .a.test"), [
    'line 5: mx ".a.test" is not a pattern (RFC 8461 §4.1 wants "*.a.test") and never matches',
  ]],
  ["an empty mx (Courier crashes)", lines(...BASE, "mx:"), [
    'line 5: mx "" is empty and never matches',
  ]],
  ["a wildcard inside the mx", lines(...BASE, "mx: a.*.test"), [
    'line 5: mx "a.*.test" is not a host name pattern and never matches',
  ]],
  ["a lone star", lines(...BASE, "mx: *"), [
    'line 5: mx "*" is not a host name pattern and never matches',
  ]],
  ["an mx ending in a dot", lines(...BASE, "mx: mx2.a.test."), [
    'line 5: mx "mx2.a.test." ends in a dot, which Courier never matches',
  ]],
];

for (const [name, text, warnings] of WARNED) {
  Deno.test(`parsePolicy() keeps the policy and warns for ${name}`, () => {
    const parsed = parsePolicy(text);
    assert.equal(parsed.policy.mode, "enforce");
    assert.deepEqual(parsed.warnings, warnings);
  });
}

Deno.test("parsePolicy() takes the first of repeated version, mode and max_age", () => {
  const text = lines(
    ...BASE.with(1, "mode: testing"),
    "mode: enforce",
    "max_age: 1",
    "version: STSv2",
  );
  const { policy, warnings } = parsePolicy(text);
  assert.deepEqual([policy.version, policy.mode, policy.maxAge], ["STSv1", "testing", 86400]);
  assert.equal(warnings.length, 3);
});

Deno.test("parsePolicy() keeps invalid mx values in the policy", () => {
  assert.deepEqual(parsePolicy(lines(...BASE, "mx: 192.0.2.1")).policy.mx, [
    "mx.a.test",
    "192.0.2.1",
  ]);
});

// Found by the growth target of scripts/fuzz.ts: trimming such a value took seconds.
Deno.test("parsePolicy() trims only the ends of an mx value with 60,000 blanks inside", () => {
  const inner = " \t".repeat(30_000);
  const parsed = parsePolicy(lines(...BASE, `mx: \t a${inner}b \t`));
  assert.deepEqual(parsed.policy.mx, ["mx.a.test", `a${inner}b`]);
  assert.deepEqual(parsed.warnings, [
    `line 5: mx ${quote(`a${inner}`, 100)} is not a host name pattern and never matches`,
    "white space at the end of line 5",
  ]);
});

Deno.test("courierText() deletes every CR and turns NUL into a space", () => {
  assert.equal(courierText("a\r\nb\rc\0d\r"), "a\nbc d");
});
