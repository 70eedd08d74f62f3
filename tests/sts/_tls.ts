// Test-only certificates made with openssl: a CA, a leaf for the tests' policy hosts
// (POLICY_HOSTS), 127.0.0.1 and localhost signed by it, a leaf for localhost only, an expired
// leaf, and a leaf signed by a CA the client does not trust.

/** The policy hosts the good, expired and rogue leaves are issued for. */
export const POLICY_HOSTS = ["mta-sts.a.test", "mta-sts.a.example", "mta-sts.sts.test"];
const HOSTS_SAN = POLICY_HOSTS.map((h) => `DNS:${h}`).join(",");

import { DnsError } from "../../lib/errors.ts";
import type { Querier } from "../../lib/resolver/resolver.ts";
import { answer } from "../fakes/answer.ts";
import { EC, LEAF_EXTENSIONS, openssl, sign } from "../_openssl.ts";

/** PEM texts for one test run. */
export interface TestCerts {
  /** The CA the client trusts. */
  ca: string;
  /** Leaf for the policy hosts, IP 127.0.0.1 and DNS localhost, signed by `ca`. */
  cert: string;
  /** Its key. */
  key: string;
  /** Leaf for DNS localhost only, signed by `ca`: wrong name for the policy hosts. */
  otherNameCert: string;
  /** Its key. */
  otherNameKey: string;
  /** Leaf like `cert`, signed by `ca`, valid only on 2020-01-01. */
  expiredCert: string;
  /** Its key. */
  expiredKey: string;
  /** Leaf for the policy hosts and 127.0.0.1 signed by an untrusted CA. */
  rogueCert: string;
  /** Its key. */
  rogueKey: string;
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-x509",
    ...EC,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  ]);
}

/** A P-256 key and a certificate request for it, `<name>.key` and `<name>.csr`. */
function makeRequest(dir: string, name: string): Promise<void> {
  return openssl(dir, [
    "req",
    ...EC,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${name}`,
  ]);
}

async function makeLeaf(dir: string, name: string, ca: string, san: string): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/${name}.ext`,
    `subjectAltName = ${san}\n${LEAF_EXTENSIONS}`,
  );
  await makeRequest(dir, name);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  ]);
}

/**
 * A leaf whose validity ended long ago, signed with explicit dates (`openssl x509` in
 * OpenSSL 3.0 only counts days from now).
 */
async function makeExpiredLeaf(dir: string, name: string, ca: string): Promise<void> {
  await makeRequest(dir, name);
  await sign(
    dir,
    name,
    ca,
    `subjectAltName = IP:127.0.0.1,DNS:localhost,${HOSTS_SAN}\n${LEAF_EXTENSIONS}`,
    ["20200101000000Z", "20200102000000Z"],
  );
}

let made: Promise<TestCerts> | undefined;

/** The certificates, made once per test process in a temporary directory removed afterwards. */
export function testCerts(): Promise<TestCerts> {
  made ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "sts-tls-" });
    try {
      await makeCa(dir, "ca");
      await makeCa(dir, "rogue-ca");
      await makeLeaf(dir, "leaf", "ca", `IP:127.0.0.1,DNS:localhost,${HOSTS_SAN}`);
      await makeLeaf(dir, "other", "ca", "DNS:localhost");
      await makeLeaf(dir, "rogue", "rogue-ca", `IP:127.0.0.1,${HOSTS_SAN}`);
      await makeExpiredLeaf(dir, "expired", "ca");
      const read = (file: string) => Deno.readTextFile(`${dir}/${file}`);
      return {
        ca: await read("ca.pem"),
        cert: await read("leaf.pem"),
        key: await read("leaf.key"),
        otherNameCert: await read("other.pem"),
        otherNameKey: await read("other.key"),
        expiredCert: await read("expired.pem"),
        expiredKey: await read("expired.key"),
        rogueCert: await read("rogue.pem"),
        rogueKey: await read("rogue.key"),
      };
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return made;
}

/**
 * A resolver for `fetchPolicy` that puts every policy host at 127.0.0.1 (IPv4 only) and records
 * what it was asked.
 */
export function localResolver(): Querier & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    query(name, type) {
      asked.push(`${name} ${type}`);
      if (type !== "A") {
        return Promise.reject(new DnsError("NODATA", `No ${type} record for "${name}"`));
      }
      const data = { type: "A" as const, address: "127.0.0.1" };
      return Promise.resolve(answer(name, type, [{ name, type, class: "IN", ttl: 300, data }]));
    },
  };
}
