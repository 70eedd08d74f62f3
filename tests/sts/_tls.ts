// Test-only certificates made with openssl: a CA, a leaf for 127.0.0.1 and localhost signed by
// it, a leaf for localhost only, and a leaf signed by a CA the client does not trust.

/** PEM texts for one test run. */
export interface TestCerts {
  /** The CA the client trusts. */
  ca: string;
  /** Leaf for IP 127.0.0.1 and DNS localhost, signed by `ca`. */
  cert: string;
  /** Its key. */
  key: string;
  /** Leaf for DNS localhost only, signed by `ca`: wrong name for 127.0.0.1. */
  otherNameCert: string;
  /** Its key. */
  otherNameKey: string;
  /** Leaf for 127.0.0.1 signed by an untrusted CA. */
  rogueCert: string;
  /** Its key. */
  rogueKey: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (code !== 0) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(stderr)}`);
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
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

async function makeLeaf(dir: string, name: string, ca: string, san: string): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/${name}.ext`,
    `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
  );
  await openssl(dir, [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${name}`,
  ]);
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

let made: Promise<TestCerts> | undefined;

/** The certificates, made once per test process in a temporary directory removed afterwards. */
export function testCerts(): Promise<TestCerts> {
  made ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "sts-tls-" });
    try {
      await makeCa(dir, "ca");
      await makeCa(dir, "rogue-ca");
      await makeLeaf(dir, "leaf", "ca", "IP:127.0.0.1,DNS:localhost");
      await makeLeaf(dir, "other", "ca", "DNS:localhost");
      await makeLeaf(dir, "rogue", "rogue-ca", "IP:127.0.0.1");
      const read = (file: string) => Deno.readTextFile(`${dir}/${file}`);
      return {
        ca: await read("ca.pem"),
        cert: await read("leaf.pem"),
        key: await read("leaf.key"),
        otherNameCert: await read("other.pem"),
        otherNameKey: await read("other.key"),
        rogueCert: await read("rogue.pem"),
        rogueKey: await read("rogue.key"),
      };
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return made;
}
