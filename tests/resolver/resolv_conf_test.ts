import assert from "node:assert/strict";
import type { FileReader } from "../../lib/host.ts";
import {
  loadResolvConf,
  parseResolvConf,
  type ResolvConf,
} from "../../lib/resolver/resolv_conf.ts";

const DEFAULTS: ResolvConf = {
  nameservers: ["127.0.0.1", "::1"],
  search: [],
  timeoutMs: 5000,
  attempts: 2,
  rotate: false,
  warnings: [],
};

/** A case: the file, the fields that differ from the defaults, and the warnings as `line: message`. */
interface Case {
  name: string;
  text: string;
  expect?: Partial<Omit<ResolvConf, "warnings">>;
  warnings?: string[];
}

const CASES: Case[] = [
  { name: "an empty file gives 127.0.0.1 then ::1, 5 s, 2 attempts", text: "" },
  {
    name: "nameservers are kept in order, IPv4 and IPv6",
    text: "nameserver 192.0.2.1\nnameserver 2001:db8::53\n",
    expect: { nameservers: ["192.0.2.1", "2001:db8::53"] },
  },
  {
    name: "nameserver addresses follow Courier's grammar",
    text: "nameserver 0177.0.0.1\nnameserver 127.2\nnameserver ::ffff:192.0.2.9\n",
    expect: { nameservers: ["127.0.0.1", "127.0.0.2", "192.0.2.9"] },
  },
  {
    name: "keywords are case-insensitive and CRLF line ends work",
    text: "NameServer 192.0.2.1\r\nOPTIONS Rotate\r\n",
    expect: { nameservers: ["192.0.2.1"], rotate: true },
  },
  {
    name: "more than 10 nameservers keeps the first 10 and warns",
    text: Array.from({ length: 12 }, (_, i) => `nameserver 192.0.2.${i + 1}`).join("\n"),
    expect: { nameservers: Array.from({ length: 10 }, (_, i) => `192.0.2.${i + 1}`) },
    warnings: [
      '11: Ignoring nameserver "192.0.2.11": at most 10 are used',
      '12: Ignoring nameserver "192.0.2.12": at most 10 are used',
    ],
  },
  {
    name: "an invalid nameserver is skipped with a warning; none left means the defaults",
    text: "nameserver bogus\nnameserver 0x7f.0.0.1\nnameserver fe80::1%eth0\nnameserver\n",
    warnings: [
      '1: Ignoring nameserver "bogus": not an IP address',
      '2: Ignoring nameserver "0x7f.0.0.1": not an IP address',
      '3: Ignoring nameserver "fe80::1%eth0": not an IP address',
      "4: Ignoring nameserver without an address",
    ],
  },
  {
    name: "comments start with # or ; at a line or a word",
    text: "# nameserver 192.0.2.1\n; nameserver 192.0.2.2\nnameserver 192.0.2.3 # main\n" +
      "search a.test ;b.test\n",
    expect: { nameservers: ["192.0.2.3"], domain: "a.test", search: ["a.test"] },
  },
  {
    name: "domain takes the first word, lower case, without trailing dot",
    text: "DOMAIN Example.ORG. extra\n",
    expect: { domain: "example.org", search: ["example.org"] },
  },
  {
    name: "search sets the list and the default domain",
    text: "search b.test a.test\n",
    expect: { domain: "b.test", search: ["b.test", "a.test"] },
  },
  {
    name: "the later of domain and search wins (search last)",
    text: "domain d.test\nsearch s1.test s2.test\n",
    expect: { domain: "s1.test", search: ["s1.test", "s2.test"] },
  },
  {
    name: "the later of domain and search wins (domain last)",
    text: "search s1.test s2.test\ndomain d.test\n",
    expect: { domain: "d.test", search: ["d.test"] },
  },
  {
    // Found by `deno task fuzz --seed=987654321` (resolv-conf, input 35045): trailing dots cut
    // from a name whose dots stop before its end took seconds; the result must not change.
    name: "a search name of 62,107 dots before its last letter keeps them; trailing dots go",
    text: `search attempts: sortlist${".".repeat(62_107)}\u1514${".".repeat(3_000)}\n`,
    expect: { domain: "attempts:", search: ["attempts:", `sortlist${".".repeat(62_107)}\u1514`] },
  },
  {
    name: "a domain of 65,000 dots then a letter is kept whole, lower case",
    text: `domain ${".".repeat(65_000)}X\n`,
    expect: { domain: `${".".repeat(65_000)}x`, search: [`${".".repeat(65_000)}x`] },
  },
  {
    name: "a domain or search entry made only of dots is no name",
    text: `search ${".".repeat(30_000)} a.test.. ..\ndomain ${".".repeat(30_000)}\n`,
    expect: { domain: "a.test", search: ["a.test"] },
    warnings: ["2: Ignoring domain without a value"],
  },
  {
    name: "search . (systemd-resolved) means no search domain",
    text: "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n",
    expect: { nameservers: ["127.0.0.53"], search: [] },
  },
  {
    name: "domain without a value is ignored with a warning",
    text: "domain\n",
    warnings: ["1: Ignoring domain without a value"],
  },
  {
    name: "options timeout, attempts and rotate are read",
    text: "options timeout:1 attempts:3 rotate\n",
    expect: { timeoutMs: 1000, attempts: 3, rotate: true },
  },
  {
    name: "options are capped as in glibc: timeout 30, attempts 5",
    text: "options timeout:99 attempts:9\n",
    expect: { timeoutMs: 30000, attempts: 5 },
    warnings: [
      '1: Option "timeout:99" is out of range 1..30; using 30',
      '1: Option "attempts:9" is out of range 1..5; using 5',
    ],
  },
  {
    name: "options timeout:0 and attempts:0 become 1",
    text: "options timeout:0 attempts:0\n",
    expect: { timeoutMs: 1000, attempts: 1 },
    warnings: [
      '1: Option "timeout:0" is out of range 1..30; using 1',
      '1: Option "attempts:0" is out of range 1..5; using 1',
    ],
  },
  {
    name: "a timeout that is not a number is ignored with a warning",
    text: "options timeout:x attempts:-1 timeout\n",
    warnings: [
      '1: Ignoring option "timeout:x": not a whole number',
      '1: Ignoring option "attempts:-1": not a whole number',
      '1: Ignoring option "timeout": not a whole number',
    ],
  },
  {
    name: "glibc options without effect here and sortlist are accepted quietly",
    text: "options ndots:2 edns0 trust-ad single-request-reopen\nsortlist 130.155.160.0\n",
  },
  {
    name: "unknown options and keywords are warned about",
    text: "options frobnicate\nlookup file bind\n",
    warnings: ['1: Ignoring unknown option "frobnicate"', '2: Ignoring unknown keyword "lookup"'],
  },
  {
    name: "a line starting with white space is ignored, as glibc and Courier do",
    text: " nameserver 192.0.2.1\n\t\n",
    warnings: ['1: Ignoring "nameserver 192.0.2.1": line starts with white space'],
  },
];

Deno.test("parseResolvConf() reads the resolv.conf grammar", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, () => {
      const conf = parseResolvConf(c.text);
      const { warnings, ...rest } = conf;
      assert.deepEqual(rest, { ...omitWarnings(DEFAULTS), ...c.expect });
      assert.deepEqual(warnings.map((w) => `${w.line}: ${w.message}`), c.warnings ?? []);
    });
  }
});

function omitWarnings(conf: ResolvConf): Omit<ResolvConf, "warnings"> {
  const { warnings: _, ...rest } = conf;
  return rest;
}

function reader(files: Record<string, string>, failure?: Error): FileReader {
  return {
    readTextFile(path) {
      if (failure) return Promise.reject(failure);
      return Promise.resolve(files[path]);
    },
  };
}

Deno.test("loadResolvConf() parses the file read through the host", async () => {
  const conf = await loadResolvConf(
    "/etc/resolv.conf",
    reader({ "/etc/resolv.conf": "nameserver 192.0.2.1\n" }),
  );
  assert.deepEqual(conf.nameservers, ["192.0.2.1"]);
});

Deno.test("loadResolvConf() gives the defaults for a missing file, without warning", async () => {
  assert.deepEqual(await loadResolvConf("/nonexistent", reader({})), DEFAULTS);
});

Deno.test("loadResolvConf() fails for a file that exists but cannot be read", async () => {
  await assert.rejects(
    loadResolvConf("/etc/resolv.conf", reader({}, new Error("Permission denied"))),
    { message: "Permission denied" },
  );
});
