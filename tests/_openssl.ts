// The openssl steps the tests' certificate makers share (tests/probe/_certs.ts,
// tests/sts/_tls.ts): run openssl in a directory, a new P-256 key, and `openssl ca` signing
// between explicit dates, which `openssl x509` in OpenSSL 3.0 cannot (it counts days from now).

/** Runs openssl in `dir`; throws with its stderr when it fails. */
export async function openssl(dir: string, args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(stderr)}`);
}

/** `openssl req` arguments for a new unencrypted P-256 key. */
export const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Extension lines of a server leaf (what differs per leaf is its subjectAltName). */
export const LEAF_EXTENSIONS = "basicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n";

/** Serial numbers, unique within one run. */
let serial = 0x1000;

function caConfig(name: string, extensions: string): string {
  return [
    "[ca]",
    "default_ca = test",
    "[test]",
    `database = ${name}.index`,
    "new_certs_dir = .",
    `serial = ${name}.serial`,
    "default_md = sha256",
    "policy = any",
    "copy_extensions = none",
    "[any]",
    "commonName = supplied",
    "[ext]",
    extensions,
    "",
  ].join("\n");
}

/**
 * Signs `<name>.csr` in `dir` with CA `ca` (`<ca>.pem`, `<ca>.key`) into `<name>.pem`, with
 * the given extension lines, between two dates (YYYYMMDDhhmmssZ). Each signing has its own
 * database and serial file, so several may run at once.
 */
export async function sign(
  dir: string,
  name: string,
  ca: string,
  extensions: string,
  dates: [string, string],
): Promise<void> {
  await Deno.writeTextFile(`${dir}/${name}.index`, "");
  await Deno.writeTextFile(
    `${dir}/${name}.serial`,
    `${(++serial).toString(16).padStart(4, "0")}\n`,
  );
  await Deno.writeTextFile(`${dir}/${name}.cnf`, caConfig(name, extensions));
  await openssl(dir, [
    "ca",
    "-batch",
    "-config",
    `${name}.cnf`,
    "-extensions",
    "ext",
    "-cert",
    `${ca}.pem`,
    "-keyfile",
    `${ca}.key`,
    "-in",
    `${name}.csr`,
    "-out",
    `${name}.pem`,
    "-startdate",
    dates[0],
    "-enddate",
    dates[1],
    "-notext",
  ]);
}
