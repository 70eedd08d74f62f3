// Test-only certificates for the probe, made with openssl in a temporary directory: a trusted
// CA with an intermediate, leaves for mx.probe.test (good, expired, not yet valid, wrong name,
// wildcard, via the intermediate), a leaf from a CA nobody trusts, and a self-signed one.

import { EC, LEAF_EXTENSIONS, openssl, sign } from "../_openssl.ts";

/** PEM texts (certificate chains as servers send them) and keys. */
export interface ProbeCerts {
  /** The trusted root. */
  ca: string;
  /** The untrusted root. */
  rogueCa: string;
  /** The one key all leaves share (what differs is the certificate). */
  key: string;
  /** Leaf for mx.probe.test, signed by `ca`. */
  good: string;
  /** Leaf for mx.probe.test, valid only on 2020-01-01. */
  expired: string;
  /** Leaf for mx.probe.test, valid from 2040. */
  future: string;
  /** Leaf for other.probe.test only. */
  wrongName: string;
  /** Leaf for *.probe.test. */
  wildcard: string;
  /** Leaf for mx.probe.test signed by the intermediate, followed by the intermediate. */
  viaIntermediate: string;
  /** The same leaf without its intermediate. */
  missingIntermediate: string;
  /** Leaf for mx.probe.test signed by `rogueCa`. */
  rogue: string;
  /** Self-signed for mx.probe.test. */
  selfSigned: string;
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
}

const CA = "basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n";

let made: Promise<ProbeCerts> | undefined;

/** The certificates, made once per test process; the directory is removed afterwards. */
export function probeCerts(): Promise<ProbeCerts> {
  made ??= makeProbeCerts();
  return made;
}

/** Host paths of a CA's certificate and key (PEM). */
export interface CaFiles {
  /** The certificate. */
  pem: string;
  /** Its key. */
  key: string;
}

/** What {@linkcode makeProbeCerts} may be given instead of making it. */
export interface ProbeCertsOptions {
  /** The CAs to sign with (the test world's CA as `ca`, its untrusted CA as `rogueCa`). */
  roots?: { ca: CaFiles; rogueCa: CaFiles };
  /** Paths of the leaves' and the intermediate's keys (fixed keys whose TLSA is in a zone). */
  keys?: { leaf: string; intermediate: string };
}

/**
 * Makes the certificates, with new roots and keys or with given ones.
 *
 * @param options The CAs and keys to use; new ones when absent.
 * @returns The PEM texts.
 */
export async function makeProbeCerts(options: ProbeCertsOptions = {}): Promise<ProbeCerts> {
  const { roots, keys } = options;
  const dir = await Deno.makeTempDir({ prefix: "probe-certs-" });
  try {
    const now = Date.now();
    const valid: [string, string] = [
      stamp(new Date(now - 86_400_000)),
      stamp(new Date(now + 30 * 86_400_000)),
    ];
    if (roots !== undefined) {
      for (const [name, files] of [["ca", roots.ca], ["rogue-ca", roots.rogueCa]] as const) {
        await Deno.copyFile(files.pem, `${dir}/${name}.pem`);
        await Deno.copyFile(files.key, `${dir}/${name}.key`);
      }
    }
    for (const root of roots === undefined ? ["ca", "rogue-ca"] : []) {
      await openssl(dir, [
        "req",
        "-x509",
        ...EC,
        "-keyout",
        `${root}.key`,
        "-out",
        `${root}.pem`,
        "-days",
        "30",
        "-subj",
        `/CN=Probe test ${root}`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
      ]);
    }
    for (
      const [name, subject, key] of [
        ["leaf", "/CN=mx.probe.test", keys?.leaf],
        ["int", "/CN=Probe test intermediate", keys?.intermediate],
      ] as const
    ) {
      if (key !== undefined) await Deno.copyFile(key, `${dir}/${name}.key`);
      const keyArgs = key === undefined
        ? [...EC, "-keyout", `${name}.key`]
        : ["-key", `${name}.key`];
      await openssl(dir, ["req", "-new", ...keyArgs, "-out", `${name}.csr`, "-subj", subject]);
    }
    const leaf = async (name: string, ca: string, san: string, dates = valid) => {
      await Deno.copyFile(`${dir}/leaf.csr`, `${dir}/${name}.csr`);
      await sign(dir, name, ca, `${LEAF_EXTENSIONS}subjectAltName = ${san}\n`, dates);
    };
    // Each signing has its own database and serial file: they run at once.
    await Promise.all([
      sign(dir, "int", "ca", CA, valid).then(() =>
        // dane-ta.signed.test: the DANE-TA case of the test world, whose name is checked.
        leaf("via-int", "int", "DNS:mx.probe.test,DNS:dane-ta.signed.test")
      ),
      leaf("good", "ca", "DNS:mx.probe.test"),
      leaf("expired", "ca", "DNS:mx.probe.test", ["20200101000000Z", "20200102000000Z"]),
      leaf("future", "ca", "DNS:mx.probe.test", ["20400101000000Z", "20400102000000Z"]),
      leaf("wrong", "ca", "DNS:other.probe.test,DNS:www.probe.test"),
      leaf("wild", "ca", "DNS:*.probe.test"),
      leaf("rogue", "rogue-ca", "DNS:mx.probe.test"),
    ]);
    await openssl(dir, [
      "req",
      "-x509",
      "-key",
      "leaf.key",
      "-out",
      "self.pem",
      "-days",
      "30",
      "-subj",
      "/CN=mx.probe.test",
      "-addext",
      "subjectAltName=DNS:mx.probe.test",
      "-addext",
      "basicConstraints=CA:FALSE",
    ]);
    const read = (file: string) => Deno.readTextFile(`${dir}/${file}`);
    const viaInt = await read("via-int.pem");
    return {
      ca: await read("ca.pem"),
      rogueCa: await read("rogue-ca.pem"),
      key: await read("leaf.key"),
      good: await read("good.pem"),
      expired: await read("expired.pem"),
      future: await read("future.pem"),
      wrongName: await read("wrong.pem"),
      wildcard: await read("wild.pem"),
      viaIntermediate: viaInt + (await read("int.pem")),
      missingIntermediate: viaInt,
      rogue: await read("rogue.pem"),
      selfSigned: await read("self.pem"),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
