// DANE test vectors (tests/probe/vectors/dane.json: mox's and Stalwart's DANE tests as scenarios
// under RFC 7672 and RFC 7671) run the way a probe judges an address: TLSA RDATA built from
// certificates made here, answered by a canned resolver to lookupTlsa, then daneOfChain over the
// chain parsed by node:crypto. Each case holds this tool's verdict beside the source's and the
// RFC's; where they differ the case says why, and this test checks it does.
import assert from "node:assert/strict";
import { DnsError } from "../../lib/errors.ts";
import { daneOfChain, type DaneVerdict } from "../../lib/probe/dane.ts";
import { lookupTlsa } from "../../lib/probe/dns.ts";
import { loadX509, pemBlocks } from "../../lib/probe/x509.ts";
import type { CertificateInfo } from "../../lib/probe/certificate.ts";
import type { Querier, QueryResult } from "../../lib/resolver/resolver.ts";
import { probeCerts } from "./_certs.ts";

interface RecordSpec {
  usage: number;
  selector: number;
  matchingType: number;
  /** What the association data is computed from (the keys of `DATA` below). */
  data: string;
}

interface DaneCase {
  scenario: string;
  records: RecordSpec[];
  /** Unvalidated answers; everything else is validated. */
  dnssec?: { tlsa?: boolean };
  /** The MX host is a CNAME: whether that is validated, where the records are. */
  cname?: { secure: boolean; tlsaAt: "original" | "target"; targetRecords?: RecordSpec[] };
  /** The server's chain when not [leaf, TA], or the name dialled when not the leaf's. */
  server?: { chain?: string[]; leafExpired?: boolean; dialled?: string };
  /** Every record's data altered (its last octet flipped). */
  changed?: boolean;
  verdict: string;
  peer: string;
  rfc: string | null;
  differs?: string;
  source: { repository: string; commit: string; path: string; line: number };
  note?: string;
}

const FILE = JSON.parse(
  Deno.readTextFileSync(new URL("./vectors/dane.json", import.meta.url)),
) as { cases: DaneCase[] };
const CITATION = /RFC \d+ §\d|\bD\d+\b/;
const HOST = "mx.probe.test";
const TARGET = "target.probe.test";

const WORDS: Record<DaneVerdict, string> = {
  matched: "authenticated",
  mismatched: "not authenticated",
  none: "no DANE",
  insecure: "insecure: not used",
  unusable: "unusable for SMTP",
  bogus: "bogus",
  error: "error",
};

const x509 = await loadX509();
const certs = await probeCerts();
const parse = (pem: string) => pemBlocks(pem).map((block) => x509.parse(block));
const [ta] = parse(certs.ca);
const [leaf] = parse(certs.good);
const [expired] = parse(certs.expired);
const [leafUnderIntermediate, intermediate] = parse(certs.viaIntermediate);
const [anotherKey] = parse(certs.rogueCa);

const sha256 = (data: Uint8Array) => x509.digest("sha256", data);

/** The association data each description stands for, given the chain the server sends. */
const DATA: Record<string, (chain: CertificateInfo[]) => Uint8Array> = {
  "sha256(leaf SPKI)": (chain) => sha256(x509.spki(chain[0])),
  "sha512(leaf SPKI)": (chain) => x509.digest("sha512", x509.spki(chain[0])),
  "leaf SPKI": (chain) => x509.spki(chain[0]),
  "first 16 bytes of sha256(leaf SPKI)": (chain) => sha256(x509.spki(chain[0])).slice(0, 16),
  "sha256(TA certificate)": () => sha256(ta.der),
  "TA certificate": () => ta.der,
  "TA certificate without its first byte": () => ta.der.slice(1),
  "sha256(intermediate SPKI)": () => sha256(x509.spki(intermediate)),
  "sha256(another key's SPKI)": () => sha256(x509.spki(anotherKey)),
  "32 zero bytes": () => new Uint8Array(32),
};

function chainOf(vector: DaneCase): CertificateInfo[] {
  const server = vector.server ?? {};
  if (server.leafExpired) return [expired, ta];
  const named: Record<string, CertificateInfo> = {
    leaf,
    TA: ta,
    "intermediate leaf": leafUnderIntermediate,
    intermediate,
  };
  return (server.chain ?? ["leaf", "TA"]).map((name) => {
    assert.ok(name in named, `unknown certificate "${name}"`);
    return named[name];
  });
}

function rdata(spec: RecordSpec, chain: CertificateInfo[], changed: boolean): Uint8Array {
  assert.ok(spec.data in DATA, `unknown data "${spec.data}"`);
  const data = DATA[spec.data](chain).slice();
  if (changed) data[data.length - 1] ^= 0xff;
  return Uint8Array.of(spec.usage, spec.selector, spec.matchingType, ...data);
}

/** Answers TLSA questions for the names that have records, NXDOMAIN for the others. */
function querier(answers: Map<string, Uint8Array[]>, ad: boolean): Querier {
  return {
    query(name, type) {
      assert.equal(type, "TLSA");
      const raws = answers.get(name);
      if (raws === undefined) return Promise.reject(new DnsError("NXDOMAIN", `No "${name}"`));
      const records = raws.map((raw) => ({
        name,
        type,
        class: "IN",
        ttl: 300,
        data: { type: "TLSA", raw },
      }));
      return Promise.resolve({ name, type, records, ad } as unknown as QueryResult);
    },
  };
}

async function run(vector: DaneCase): Promise<string> {
  const chain = chainOf(vector);
  const host = vector.server?.dialled ?? HOST;
  const build = (specs: RecordSpec[]) =>
    specs.map((spec) => rdata(spec, chain, vector.changed === true));
  const answers = new Map<string, Uint8Array[]>();
  const at = vector.cname?.tlsaAt === "target" ? TARGET : host;
  if (vector.records.length > 0) answers.set(`_25._tcp.${at}`, build(vector.records));
  if (vector.cname?.targetRecords) {
    answers.set(`_25._tcp.${TARGET}`, build(vector.cname.targetRecords));
  }
  const answer = await lookupTlsa(querier(answers, vector.dnssec?.tlsa !== false), host, 25);
  const result = daneOfChain(
    {
      mxSecure: true,
      // The address answer follows the CNAME: validated only when the CNAME is.
      addressSecure: vector.cname?.secure ?? true,
      tlsa: answer.tlsa,
      records: answer.records,
      malformed: answer.malformed,
    },
    chain,
    host,
    x509,
    Date.now(),
  );
  return WORDS[result.dane];
}

function where(vector: DaneCase): string {
  return `${vector.source.repository} ${vector.source.path}:${vector.source.line}`;
}

Deno.test("DANE vectors: every case names its source and explains each difference", () => {
  assert.ok(FILE.cases.length >= 30, `${FILE.cases.length} cases`);
  const words = new Set(Object.values(WORDS));
  for (const vector of FILE.cases) {
    const at = where(vector);
    assert.match(vector.source.commit, /^[0-9a-f]{40}$/, at);
    assert.ok(Number.isInteger(vector.source.line) && vector.source.line > 0, at);
    assert.ok(words.has(vector.verdict), `${at}: verdict "${vector.verdict}"`);
    const differs = vector.verdict !== vector.peer ||
      (vector.rfc !== null && vector.verdict !== vector.rfc);
    if (differs) assert.match(vector.differs ?? "", CITATION, `${at}: differs without a reason`);
    else assert.equal(vector.differs, undefined, `${at}: a reason without a difference`);
    if (vector.rfc === null) assert.match(vector.note ?? "", CITATION, `${at}: rfc null, no note`);
  }
});

for (const [index, vector] of FILE.cases.entries()) {
  Deno.test(`DANE vectors: ${where(vector)} #${index + 1} ${vector.scenario}: ${vector.verdict}`, async () => {
    assert.equal(await run(vector), vector.verdict);
  });
}

Deno.test("daneOfChain() takes a DANE-TA full key (2 1 0) as the anchor the server left out", () => {
  const judge = (anchor: CertificateInfo) =>
    daneOfChain(
      {
        mxSecure: true,
        addressSecure: true,
        tlsa: "secure",
        records: [{ usage: 2, selector: 1, matchingType: 0, data: x509.spki(anchor) }],
      },
      [leaf],
      HOST,
      x509,
      Date.now(),
    );
  assert.deepEqual(judge(ta), { dane: "matched", matchedRecord: "2 1 0", reason: null });
  assert.equal(judge(anotherKey).dane, "mismatched");
});
