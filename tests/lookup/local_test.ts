import fc from "fast-check";
import assert from "node:assert/strict";
import {
  isLocal,
  loadLocalConfig,
  type LocalConfig,
  type LocalHost,
  MAX_LOCAL_CONFIG_CHARS,
  parseHostedDomains,
} from "../../lib/lookup/local.ts";

interface Case {
  name: string;
  host: string;
  config: LocalConfig;
  want: boolean;
}

const CASES: Case[] = [
  // locals (docs/courier.md#local-hosts).
  {
    name: "a host listed in locals is local",
    host: "mail.example.com",
    config: { locals: "other.test\nmail.example.com\n", hostname: "vm" },
    want: true,
  },
  {
    name: "a host not listed is not local",
    host: "mx.other.test",
    config: { locals: "mail.example.com\n", hostname: "vm" },
    want: false,
  },
  {
    name: "a comment after spaces leaves the spaces, so the line never matches",
    host: "mail.example.com",
    config: { locals: "mail.example.com # comment\n", hostname: "vm" },
    want: false,
  },
  {
    name: "a comment right after the name is removed",
    host: "mail.example.com",
    config: { locals: "mail.example.com#comment\n", hostname: "vm" },
    want: true,
  },
  {
    name: "a comment removes only up to the end of its line",
    host: "b.test",
    config: { locals: "# a.test\nb.test", hostname: "vm" },
    want: true,
  },
  {
    name: "lines split on CR as well as LF",
    host: "b.test",
    config: { locals: "a.test\r\nb.test\rc.test", hostname: "vm" },
    want: true,
  },
  {
    name: "a leading space makes a line never match",
    host: "a.test",
    config: { locals: " a.test\n", hostname: "vm" },
    want: false,
  },
  {
    name: "a .suffix pattern matches names below it at any depth",
    host: "a.b.example.com",
    config: { locals: ".example.com\n", hostname: "vm" },
    want: true,
  },
  {
    name: "a .suffix pattern does not match the bare domain",
    host: "example.com",
    config: { locals: ".example.com\n", hostname: "vm" },
    want: false,
  },
  {
    name: "!pattern excludes a host before a later match",
    host: "bad.example.com",
    config: { locals: "!bad.example.com\n.example.com\n", hostname: "vm" },
    want: false,
  },
  {
    name: "!pattern does not exclude other hosts",
    host: "good.example.com",
    config: { locals: "!bad.example.com\n.example.com\n", hostname: "vm" },
    want: true,
  },
  {
    name: "the first matching line decides: a match before !pattern is local",
    host: "bad.example.com",
    config: { locals: ".example.com\n!bad.example.com\n", hostname: "vm" },
    want: true,
  },
  {
    name: "!.suffix excludes a whole subtree",
    host: "x.internal.example.com",
    config: { locals: "!.internal.example.com\n.example.com\n", hostname: "vm" },
    want: false,
  },
  {
    name: "empty lines never match an empty host",
    host: "",
    config: { locals: "\n\n!\n", hostname: "vm" },
    want: false,
  },
  {
    name: "names compare in Unicode lower case on both sides",
    host: "Mail.Éxample.TEST",
    config: { locals: "MAIL.ÉXAMPLE.test\n", hostname: "vm" },
    want: true,
  },
  {
    name: "a .suffix pattern compares in Unicode lower case",
    host: "mx.BÜCHER.test",
    config: { locals: ".Bücher.Test\n", hostname: "vm" },
    want: true,
  },
  {
    name: "A-labels in a pattern are decoded before comparing",
    host: "bücher.test",
    config: { locals: "xn--bcher-kva.test\n", hostname: "vm" },
    want: true,
  },
  {
    name: "a pattern with a bad A-label compares raw",
    host: "xn--zz.test",
    config: { locals: "XN--ZZ.test\n", hostname: "vm" },
    want: true,
  },
  {
    name: "a trailing dot is significant",
    host: "mail.example.com",
    config: { locals: "mail.example.com.\n", hostname: "vm" },
    want: false,
  },
  // Hostname form.
  {
    name: "a name under the host name is tested as *.rest",
    host: "vm.foo.test",
    config: { locals: "*.foo.test\n", hostname: "vm" },
    want: true,
  },
  {
    name: "the host name itself is tested as *",
    host: "VM",
    config: { locals: "*\n", hostname: "vm" },
    want: true,
  },
  {
    name: "the host name is lower-cased for the hostname form",
    host: "vm.foo.test",
    config: { locals: "*.foo.test\n", hostname: "VM" },
    want: true,
  },
  {
    name: "*.rest does not match names under other hosts",
    host: "other.foo.test",
    config: { locals: "*.foo.test\n", hostname: "vm" },
    want: false,
  },
  {
    name: "the plain host is tried when the hostname form is not local",
    host: "vm.foo.test",
    config: { locals: "vm.foo.test\n", hostname: "vm" },
    want: true,
  },
  {
    name: "an excluded hostname form still lets the plain host match",
    host: "vm.foo.test",
    config: { locals: "!*.foo.test\nvm.foo.test\n", hostname: "vm" },
    want: true,
  },
  {
    name: "a host merely starting with the host name is not in hostname form",
    host: "vmx.foo.test",
    config: { locals: "*x.foo.test\n*.foo.test\n", hostname: "vm" },
    want: false,
  },
  // me and the host name.
  {
    name: "without locals, me is the list",
    host: "mail.example.com",
    config: { me: "mail.example.com", hostname: "vm" },
    want: true,
  },
  {
    name: "an existing locals file hides me, even when empty",
    host: "mail.example.com",
    config: { locals: "", me: "mail.example.com", hostname: "vm" },
    want: false,
  },
  {
    name: "a leading *. in me becomes the host name",
    host: "vm.example.com",
    config: { me: "*.example.com", hostname: "VM" },
    want: true,
  },
  {
    name: "without locals and me, the host name is the list",
    host: "mx.example.test",
    config: { hostname: "MX.Example.TEST" },
    want: true,
  },
  {
    name: "without locals and me, other hosts are not local",
    host: "mx.other.test",
    config: { hostname: "mx.example.test" },
    want: false,
  },
  // Hosted domains.
  {
    name: "a hosted domain is local",
    host: "Hosted.Test",
    config: { locals: "", hostname: "vm", hostedDomains: ["hosted.test"] },
    want: true,
  },
  {
    name: "a hosted .suffix key covers names below it",
    host: "a.b.hosted.test",
    config: { locals: "", hostname: "vm", hostedDomains: [".hosted.test"] },
    want: true,
  },
  {
    name: "a hosted plain key does not cover names below it",
    host: "a.hosted.test",
    config: { locals: "", hostname: "vm", hostedDomains: ["hosted.test"] },
    want: false,
  },
  {
    name: "hosted keys compare in lower case",
    host: "a.hosted.test",
    config: { locals: "", hostname: "vm", hostedDomains: [".HOSTED.TEST"] },
    want: true,
  },
  {
    name: "hosted lookups try at most five suffixes",
    host: "a.b.c.d.e.f.g.h",
    config: { locals: "", hostname: "vm", hostedDomains: [".g.h"] },
    want: false,
  },
  {
    name: "the fifth suffix is still tried",
    host: "a.b.c.d.e.f.g.h",
    config: { locals: "", hostname: "vm", hostedDomains: [".f.g.h"] },
    want: true,
  },
  {
    name: "hosted lookups use the hostname form instead of the full host",
    host: "vm.foo.test",
    config: { locals: "", hostname: "vm", hostedDomains: ["vm.foo.test"] },
    want: false,
  },
  {
    name: "hosted suffixes of the hostname form count",
    host: "vm.foo.test",
    config: { locals: "", hostname: "vm", hostedDomains: [".foo.test"] },
    want: true,
  },
];

for (const { name, host, config, want } of CASES) {
  Deno.test(`isLocal() ${name}`, () => {
    assert.equal(isLocal(host, config), want);
  });
}

Deno.test("parseHostedDomains() takes the first field of each line, without comments", () => {
  assert.deepEqual(
    parseHostedDomains(
      "# hosted\nExample.COM\n\n  .sub.test  # all of sub\nalias.test\treal.test\r\n",
    ),
    ["example.com", ".sub.test", "alias.test"],
  );
});

function fakeHost(files: Record<string, string | Error>, hostname = "vm"): LocalHost {
  return {
    readTextFile(path) {
      const file = files[path];
      if (file instanceof Error) return Promise.reject(file);
      return Promise.resolve(file);
    },
    hostname: () => hostname,
  };
}

Deno.test("loadLocalConfig() reads locals, me, hosteddomains and the host name", async () => {
  const config = await loadLocalConfig(
    "/etc/courier",
    fakeHost({
      "/etc/courier/locals": "a.test\n",
      "/etc/courier/me": "mail.example.com\nsecond line\n",
      "/etc/courier/hosteddomains": "hosted.test\n",
    }, "box"),
  );
  assert.deepEqual(config, {
    hostname: "box",
    locals: "a.test\n",
    me: "mail.example.com",
    hostedDomains: ["hosted.test"],
  });
});

Deno.test("loadLocalConfig() leaves absent files undefined", async () => {
  const config = await loadLocalConfig("/cfg/", fakeHost({}));
  assert.deepEqual(config, { hostname: "vm" });
});

Deno.test("loadLocalConfig() keeps at most 255 bytes of me", async () => {
  const config = await loadLocalConfig("/c", fakeHost({ "/c/me": "a".repeat(254) + "é.test\n" }));
  assert.equal(config.me, "a".repeat(254));
  const exact = await loadLocalConfig("/c", fakeHost({ "/c/me": "b".repeat(300) }));
  assert.equal(exact.me, "b".repeat(255));
});

Deno.test("loadLocalConfig() treats a hosteddomains directory as no hosted domains", async () => {
  const config = await loadLocalConfig(
    "/c",
    fakeHost({ "/c/hosteddomains": new Deno.errors.IsADirectory("is a directory") }),
  );
  assert.equal(config.hostedDomains, undefined);
});

Deno.test("loadLocalConfig() passes on other read errors", async () => {
  await assert.rejects(
    loadLocalConfig("/c", fakeHost({ "/c/locals": new Deno.errors.PermissionDenied("denied") })),
    Deno.errors.PermissionDenied,
  );
});

Deno.test("isLocal(): the first matching locals line decides, whether exact or .suffix", () => {
  const cases: Array<[string, string, boolean]> = [
    ["!.b.test\na.b.test\n", "a.b.test", false],
    ["a.b.test\n!.b.test\n", "a.b.test", true],
    ["!.test\n.b.test\n", "a.b.test", false],
    [".b.test\n!.test\n", "x.a.b.test", true],
    ["!a.b.test\n.b.test\n", "c.b.test", true],
    ["!a.b.test\n.b.test\n", "a.b.test", false],
    [".b.test\n", "b.test", false],
    ["A.B.Test\n", "a.b.TEST", true],
  ];
  for (const [locals, host, expected] of cases) {
    assert.equal(isLocal(host, { locals, hostname: "mx.other" }), expected, `${locals} ${host}`);
  }
});

Deno.test("isLocal() answers from a large locals list and follows a replaced field", () => {
  const lines = Array.from({ length: 200_000 }, (_, i) => `host${i}.example`);
  lines.push("!.blocked.example", ".example");
  const config = { locals: lines.join("\n"), hostname: "mx.other" };
  assert.equal(isLocal("host199999.example", config), true);
  assert.equal(isLocal("a.blocked.example", config), false);
  assert.equal(isLocal("other.example", config), true);
  assert.equal(isLocal("other.test", config), false);
  // The same object with a new locals text is compiled again.
  config.locals = "other.test\n";
  assert.equal(isLocal("other.test", config), true);
  assert.equal(isLocal("other.example", config), false);
});

// The definitions the one-pass readers follow (D38), as regular expressions: the reference.
function hostedByRegExp(text: string): string[] {
  const keys: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const key = raw.replace(/#.*/, "").trim().split(/\s+/)[0];
    if (key !== "") keys.push(key.toLowerCase());
  }
  return keys;
}

function localsByRegExp(text: string): string[] {
  return text.replace(/#[^\r\n]*/g, "").split(/[\r\n]/);
}

const CONFIG_CHARS = [
  "\n",
  "\r",
  "\r\n",
  "#",
  " ",
  "\t",
  "\v",
  "\u00a0",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\u3000",
  "!",
  ".",
  "a",
  "B",
  "xn--bcher-kva",
  "\u00fc",
  "-",
];

Deno.test("parseHostedDomains() reads every text as its regular-expression definition does", () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...CONFIG_CHARS), { maxLength: 40 }), (parts) => {
      const text = parts.join("");
      assert.deepEqual(parseHostedDomains(text), hostedByRegExp(text), JSON.stringify(text));
    }),
    { numRuns: 3000, seed: 38 },
  );
  // First-comment rules: a second `#` is text, a comment ends at CR, U+2028 or U+2029.
  assert.deepEqual(parseHostedDomains("#a\r#b\nx#y\n#c\u2028 Z # w\n"), ["#b", "x", "z"]);
});

Deno.test("isLocal() decides from locals as the line-by-line definition does", () => {
  const hosts = ["a.b", "x.a.b", "B", "a", "b\u00fc", "xn--bcher-kva.a"];
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...CONFIG_CHARS), { maxLength: 30 }), (parts) => {
      const locals = parts.join("");
      // The definition: the first line whose folded pattern matches decides.
      for (const host of hosts) {
        const expected = isLocal(host, { locals: localsByRegExp(locals).join("\n"), hostname: "" });
        assert.equal(isLocal(host, { locals, hostname: "" }), expected, JSON.stringify(locals));
      }
    }),
    { numRuns: 2000, seed: 38 },
  );
});

Deno.test("loadLocalConfig() refuses a locals or hosteddomains over MAX_LOCAL_CONFIG_CHARS (D38)", async () => {
  const big = "a.example\n".repeat(MAX_LOCAL_CONFIG_CHARS / 10 + 1);
  for (const file of ["locals", "hosteddomains"]) {
    await assert.rejects(loadLocalConfig("/c", fakeHost({ [`/c/${file}`]: big })), {
      message: `/c/${file} holds over ${MAX_LOCAL_CONFIG_CHARS} characters`,
    });
  }
  const fits = await loadLocalConfig("/c", fakeHost({ "/c/hosteddomains": big.slice(0, -10) }));
  assert.equal(fits.hostedDomains?.length, 104_857);
});
