// Parses certificates with node:crypto's X509Certificate (loaded only when probing) into the
// facts certificate.ts judges, and checks signatures for its chain builder.
import type { CertificateInfo, IssuedBy } from "./certificate.ts";

type X509 = import("node:crypto").X509Certificate;

/** The parser and signature check, once node:crypto is loaded. */
export interface X509Tools {
  /** Parses one DER or PEM certificate; throws on a malformed one. */
  parse(input: Uint8Array | string): CertificateInfo;
  /** Whether `parent` issued and signed `child`. */
  issuedBy: IssuedBy;
  /** SHA-256 or SHA-512 of bytes. */
  digest(algorithm: "sha256" | "sha512", data: Uint8Array): Uint8Array;
  /** The SubjectPublicKeyInfo DER of a parsed certificate. */
  spki(cert: CertificateInfo): Uint8Array;
  /**
   * Whether a TLSA record's full trust anchor (selector 0: a certificate, issuer of `cert` by
   * name; 1: a SubjectPublicKeyInfo) signed `cert`; false for other records or bad data.
   */
  signedByAnchor(cert: CertificateInfo, anchor: { selector: number; data: Uint8Array }): boolean;
}

/** The PEM blocks of a bundle. */
export function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/** The subjectAltName's DNS entries, as node words them (`DNS:a, DNS:"b,c"`). */
function dnsNamesOf(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined) return [];
  const names: string[] = [];
  for (const match of subjectAltName.matchAll(/(?:^|, )DNS:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const value = match[1];
    names.push(value.startsWith('"') ? JSON.parse(value) : value);
  }
  return names;
}

function commonNameOf(subject: string): string | undefined {
  let cn: string | undefined;
  for (const line of subject.split("\n")) {
    if (line.startsWith("CN=")) cn = line.slice(3);
  }
  return cn;
}

/** Loads node:crypto and returns the tools. */
export async function loadX509(): Promise<X509Tools> {
  const { X509Certificate, createHash, createPublicKey } = await import("node:crypto");
  const { Buffer } = await import("node:buffer");
  const parsed = new WeakMap<CertificateInfo, X509>();
  const digest = (algorithm: "sha256" | "sha512", data: Uint8Array) =>
    new Uint8Array(createHash(algorithm).update(data).digest());
  const spkiOf = (x: X509) =>
    new Uint8Array(x.publicKey.export({ type: "spki", format: "der" }) as Uint8Array);
  return {
    parse(input) {
      const x = new X509Certificate(input);
      const info: CertificateInfo = {
        der: new Uint8Array(x.raw),
        subject: x.subject,
        issuer: x.issuer,
        dnsNames: dnsNamesOf(x.subjectAltName),
        commonName: commonNameOf(x.subject),
        notBefore: Date.parse(x.validFrom),
        notAfter: Date.parse(x.validTo),
        isCa: x.ca,
        spkiSha256: Array.from(digest("sha256", spkiOf(x)), (b) => b.toString(16).padStart(2, "0"))
          .join(""),
      };
      parsed.set(info, x);
      return info;
    },
    issuedBy(child, parent) {
      const c = parsed.get(child);
      const p = parsed.get(parent);
      if (c === undefined || p === undefined) return false;
      try {
        return c.checkIssued(p) && c.verify(p.publicKey);
      } catch {
        return false;
      }
    },
    digest,
    signedByAnchor(cert, anchor) {
      const c = parsed.get(cert);
      if (c === undefined) return false;
      try {
        if (anchor.selector === 0) {
          const ta = new X509Certificate(anchor.data);
          return c.checkIssued(ta) && c.verify(ta.publicKey);
        }
        return anchor.selector === 1 &&
          c.verify(createPublicKey({ key: Buffer.from(anchor.data), format: "der", type: "spki" }));
      } catch {
        // Data that is no certificate or key anchors nothing.
        return false;
      }
    },
    spki(cert) {
      const x = parsed.get(cert);
      if (x === undefined) throw new TypeError("Certificate not parsed by these tools");
      return spkiOf(x);
    },
  };
}

/** The tools and the parsed trusted certificates of a run. */
export interface TrustContext {
  /** The parser and signature check. */
  x509: X509Tools;
  /** The trusted certificates, parsed. */
  anchors: CertificateInfo[];
}

/** Contexts by trusted-certificate list: a batch passes the same list for every domain. */
const contexts = new WeakMap<string[], Promise<TrustContext>>();

/**
 * Loads node:crypto and parses the trusted certificates (bundles allowed), once per list.
 *
 * @param caCerts PEM texts; undefined: none (the TLS library's roots only).
 * @returns The context.
 */
export function trustContext(caCerts: string[] | undefined): Promise<TrustContext> {
  if (caCerts === undefined) return makeContext([]);
  let ctx = contexts.get(caCerts);
  if (ctx === undefined) {
    ctx = makeContext(caCerts);
    contexts.set(caCerts, ctx);
  }
  return ctx;
}

async function makeContext(caCerts: string[]): Promise<TrustContext> {
  const x509 = await loadX509();
  const anchors: CertificateInfo[] = [];
  for (const pem of caCerts.flatMap(pemBlocks)) {
    try {
      anchors.push(x509.parse(pem));
    } catch {
      // A malformed certificate in a bundle is skipped: the others still count.
    }
  }
  return { x509, anchors };
}
