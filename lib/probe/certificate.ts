// Certificate verdicts of a probe, kept apart: chain trusted, name valid for the MX host
// (RFC 6125), validity window, SHA-256 of the leaf's SubjectPublicKeyInfo. Pure over parsed
// certificates (x509.ts parses them); the clock is passed in.
import { matchingNames } from "./name_match.ts";

/** What the probe needs of one parsed certificate. */
export interface CertificateInfo {
  /** The whole certificate, DER. */
  der: Uint8Array;
  /** The subject's distinguished name as text. */
  subject: string;
  /** The issuer's distinguished name as text. */
  issuer: string;
  /** The subjectAltName dNSName entries. */
  dnsNames: string[];
  /** The subject's last commonName, if any. */
  commonName: string | undefined;
  /** Start of validity, ms since the epoch. */
  notBefore: number;
  /** End of validity, ms since the epoch. */
  notAfter: number;
  /** basicConstraints CA:TRUE. */
  isCa: boolean;
  /** SHA-256 of the SubjectPublicKeyInfo DER, lower-case hex. */
  spkiSha256: string;
}

/** Whether `parent` issued and signed `child` (names and signature). */
export type IssuedBy = (child: CertificateInfo, parent: CertificateInfo) => boolean;

/** The verdicts on a server's certificate. */
export interface CertificateVerdict {
  /** The chain leads to a trusted certificate (dates aside, see D31). */
  trusted: boolean;
  /** Why the chain is not trusted, or null. */
  trustError: string | null;
  /** A name of the certificate is valid for the MX host. */
  nameMatches: boolean;
  /** The names the certificate is valid for (its DNS-IDs, else its CN). */
  names: string[];
  /** Start of validity, ISO 8601. */
  notBefore: string;
  /** End of validity, ISO 8601. */
  notAfter: string;
  /** The validity ended. */
  expired: boolean;
  /** The validity has not begun. */
  notYetValid: boolean;
  /** Whole days until the end of validity; negative once expired. */
  daysLeft: number;
  /** SHA-256 of the leaf's SubjectPublicKeyInfo, lower-case hex. */
  spkiSha256: string;
}

/** The most certificates a chain is built through (leaf included). */
export const MAX_CHAIN_DEPTH = 10;

const DAY = 86_400_000;

/**
 * The names a certificate is valid for: its subjectAltName dNSNames, else its CN (RFC 6125
 * §6.4.4 allows the CN only without DNS-IDs; D31).
 */
export function certificateNames(cert: CertificateInfo): string[] {
  if (cert.dnsNames.length > 0) return cert.dnsNames;
  return cert.commonName === undefined ? [] : [cert.commonName];
}

function sameCertificate(a: CertificateInfo, b: CertificateInfo): boolean {
  return a.der.length === b.der.length && a.der.every((byte, i) => byte === b.der[i]);
}

/**
 * Whether the chain sent leads from the leaf to a trusted certificate, through certificates the
 * server sent that are CAs, each signing the one before. Dates are not looked at (the validity
 * verdict is apart). Bounded by MAX_CHAIN_DEPTH.
 *
 * @param chain The certificates sent, leaf first.
 * @param anchors The trusted certificates.
 * @param issuedBy The signature check.
 * @returns True when a path exists.
 */
export function chainReachesAnchor(
  chain: readonly CertificateInfo[],
  anchors: readonly CertificateInfo[],
  issuedBy: IssuedBy,
): boolean {
  if (chain.length === 0) return false;
  let current = chain[0];
  const used = new Set<CertificateInfo>([current]);
  for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
    if (anchors.some((anchor) => sameCertificate(anchor, current))) return true;
    if (anchors.some((anchor) => anchor.isCa && issuedBy(current, anchor))) return true;
    const next = chain.find((cert) => !used.has(cert) && cert.isCa && issuedBy(current, cert));
    if (next === undefined) return false;
    used.add(next);
    current = next;
  }
  return false;
}

/** What the TLS library said of the chain. */
export interface LibraryVerification {
  /** It verified the chain (its own rules, dates included). */
  authorized: boolean;
  /** Its reason when it did not. */
  authorizationError: string | null;
}

/**
 * The verdicts on a chain (D31): `trusted` when the TLS library verified it, or when it did
 * not only because the leaf is outside its validity window and the chain still reaches a
 * trusted certificate; so an expired certificate from a trusted CA is "trusted, expired", as a
 * mail administrator reads it, and every other library refusal is "not trusted".
 *
 * @param chain The certificates sent, leaf first (at least one).
 * @param host The MX host name (A-labels).
 * @param options The trusted certificates, the signature check, the library's verification,
 *   the time now.
 * @returns The verdicts.
 */
export function judgeCertificate(
  chain: readonly CertificateInfo[],
  host: string,
  options: {
    anchors: readonly CertificateInfo[];
    issuedBy: IssuedBy;
    library: LibraryVerification;
    now: number;
  },
): CertificateVerdict {
  const leaf = chain[0];
  const expired = options.now > leaf.notAfter;
  const notYetValid = options.now < leaf.notBefore;
  let trusted = options.library.authorized;
  let trustError = trusted ? null : options.library.authorizationError ?? "not verified";
  if (!trusted && (expired || notYetValid)) {
    trusted = chainReachesAnchor(chain, options.anchors, options.issuedBy);
    trustError = trusted ? null : "no chain to a trusted certificate";
  } else if (!trusted && !chainReachesAnchor(chain, options.anchors, options.issuedBy)) {
    trustError = chain.length === 1 && leaf.subject === leaf.issuer
      ? "self-signed certificate"
      : "no chain to a trusted certificate";
  }
  const names = certificateNames(leaf);
  return {
    trusted,
    trustError,
    nameMatches: matchingNames(names, host).length > 0,
    names,
    notBefore: new Date(leaf.notBefore).toISOString(),
    notAfter: new Date(leaf.notAfter).toISOString(),
    expired,
    notYetValid,
    daysLeft: Math.floor((leaf.notAfter - options.now) / DAY),
    spkiSha256: leaf.spkiSha256,
  };
}
