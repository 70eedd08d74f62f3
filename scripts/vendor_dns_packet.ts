// `deno run -A scripts/vendor_dns_packet.ts [--config deno.json] [--out dir]`: writes
// lib/wire/_dns_packet.js, npm dns-packet and the pure-JS npm `buffer` it reads and writes
// through, as one ES module (issue #6). Imported from npm, dns-packet is CommonJS that needs
// Deno's Node compatibility layer (node:buffer, node:module): ~20 ms and 15 MiB at start-up.
// The packages' files go in verbatim, each wrapped as a CommonJS module, in a fixed order:
// the same packages always give the same bytes (tests/wire/vendored_test.ts checks that).
import { dirname, join, normalize } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const JS_NAME = "_dns_packet.js";
const DTS_NAME = "_dns_packet.d.ts";
/** The import map entries whose pinned versions are vendored. */
const PINNED = ["dns-packet", "buffer"] as const;

interface NpmPackage {
  name: string;
  version: string;
  localPath: string;
}

interface Module {
  /** `name/path`, e.g. `dns-packet/index.js`. */
  id: string;
  source: string;
  /** `require()` argument → module id. */
  requires: Map<string, string>;
}

function option(name: string, fallback: string): string {
  const at = Deno.args.indexOf(name);
  return at >= 0 && at + 1 < Deno.args.length ? Deno.args[at + 1] : fallback;
}

/** `npm:name@version` from the config's import map, for each pinned entry. */
async function pinnedSpecifiers(config: string): Promise<string[]> {
  const imports = (JSON.parse(await Deno.readTextFile(config)) as {
    imports?: Record<string, string>;
  }).imports ?? {};
  return PINNED.map((name) => {
    const spec = imports[name];
    if (spec === undefined || !new RegExp(`^npm:${name}@\\d+\\.\\d+\\.\\d+$`).test(spec)) {
      throw new Error(`${config}: "imports" needs "${name}": "npm:${name}@<exact version>"`);
    }
    return spec;
  });
}

/** Every package (with its dependencies) as the lock file resolves it. */
async function resolvePackages(config: string, specs: string[]): Promise<Map<string, NpmPackage>> {
  const found = new Map<string, NpmPackage>();
  for (const spec of specs) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", config, spec],
      cwd: dirname(config),
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`deno info ${spec}: ${new TextDecoder().decode(out.stderr)}`);
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      npmPackages: Record<string, NpmPackage>;
    };
    for (const pkg of Object.values(info.npmPackages)) {
      const seen = found.get(pkg.name);
      if (seen !== undefined && seen.version !== pkg.version) {
        throw new Error(`Two versions of ${pkg.name}: ${seen.version} and ${pkg.version}`);
      }
      found.set(pkg.name, pkg);
    }
  }
  return found;
}

async function mainFile(pkg: NpmPackage): Promise<string> {
  const manifest = JSON.parse(await Deno.readTextFile(join(pkg.localPath, "package.json")));
  return normalize(manifest.main ?? "index.js").replace(/^\.\//, "");
}

/** The modules reachable from `entry` by `require("…")`, in first-require order. */
async function collect(
  packages: Map<string, NpmPackage>,
  entry: string,
): Promise<Module[]> {
  const modules = new Map<string, Module>();
  const pending = [entry];
  // Each id is read once; the packages hold a handful of files.
  while (pending.length > 0) {
    const id = pending.shift()!;
    if (modules.has(id)) continue;
    const slash = id.startsWith("@") ? id.indexOf("/", id.indexOf("/") + 1) : id.indexOf("/");
    const pkg = packages.get(id.slice(0, slash))!;
    const file = id.slice(slash + 1);
    const source = await Deno.readTextFile(join(pkg.localPath, file));
    const requires = new Map<string, string>();
    for (const [, , target] of source.matchAll(/\brequire\((['"])([^'"]+)\1\)/g)) {
      let resolved: string;
      if (target.startsWith(".")) {
        const path = normalize(join(dirname(file), target));
        resolved = `${pkg.name}/${/\.[cm]?js$/.test(path) ? path : `${path}.js`}`;
      } else {
        const dep = packages.get(target);
        if (dep === undefined) {
          throw new Error(`${id} requires "${target}", not a resolved package`);
        }
        resolved = `${dep.name}/${await mainFile(dep)}`;
      }
      requires.set(target, resolved);
      pending.push(resolved);
    }
    modules.set(id, { id, source, requires });
  }
  return [...modules.values()];
}

/** The module's export names, by running the wrapped sources here. */
function exportNames(modules: Module[], entry: string): string[] {
  const byId = new Map(modules.map((m) => [m.id, m]));
  const cache = new Map<string, { exports: Record<string, unknown> }>();
  const load = (id: string): Record<string, unknown> => {
    const hit = cache.get(id);
    if (hit) return hit.exports;
    const m = byId.get(id)!;
    const module = { exports: {} as Record<string, unknown> };
    cache.set(id, module);
    new Function("module", "exports", "require", m.source)(
      module,
      module.exports,
      (name: string) => load(m.requires.get(name)!),
    );
    return module.exports;
  };
  // Codecs named by reserved words (`null`) stay reachable through the default export.
  return Object.keys(load(entry)).filter((name) => {
    try {
      new Function(`const ${name} = 0;`);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * The vendored module and its types, from the packages `config` pins.
 *
 * @param config The deno.json whose "imports" pin dns-packet and buffer.
 * @returns The text of lib/wire/_dns_packet.js and lib/wire/_dns_packet.d.ts.
 */
export async function generate(config: string): Promise<{ js: string; dts: string }> {
  const specs = await pinnedSpecifiers(config);
  const packages = await resolvePackages(config, specs);
  const dnsPacket = packages.get("dns-packet")!;
  const buffer = packages.get("buffer")!;
  const entry = `dns-packet/${await mainFile(dnsPacket)}`;
  const bufferMain = `buffer/${await mainFile(buffer)}`;
  const modules = await collect(packages, entry);
  if (!modules.some((m) => m.id === bufferMain)) {
    throw new Error(`dns-packet does not require "buffer": check what it reads through`);
  }
  const used = [...new Set(modules.map((m) => m.id.slice(0, m.id.lastIndexOf("/"))))];
  const licences: string[] = [];
  for (const name of used) {
    const pkg = packages.get(name)!;
    const text = await Deno.readTextFile(join(pkg.localPath, "LICENSE"));
    licences.push(`${pkg.name}@${pkg.version}:`, "", ...text.trimEnd().split("\n"), "");
  }
  const names = exportNames(modules, entry);
  const versions = used.map((name) => `${name}@${packages.get(name)!.version}`).join(", ");
  const js = [
    `// @ts-self-types="./${DTS_NAME}"`,
    `// GENERATED by scripts/vendor_dns_packet.ts from ${specs.join(" and ")}: do not edit.`,
    `// Packages: ${versions}, as deno.json and deno.lock pin them.`,
    "// Regenerate after changing those pins: deno run -A scripts/vendor_dns_packet.ts",
    "// tests/wire/vendored_test.ts checks this file against the generator and npm dns-packet.",
    "// Each file is the package's own, verbatim, wrapped as a CommonJS module; `buffer` is the",
    "// npm package (pure JS), not node:buffer.",
    "//",
    ...licences.map((line) => line === "" ? "//" : `// ${line}`),
    "// deno-fmt-ignore-file",
    "// deno-lint-ignore-file",
    "",
    "const modules = {",
    ...modules.flatMap((m) => [
      `  ${JSON.stringify(m.id)}: [${JSON.stringify(Object.fromEntries(m.requires))}, ` +
      "function (module, exports, require) {",
      m.source.trimEnd(),
      "  }],",
    ]),
    "};",
    "const cache = {};",
    "function load(id) {",
    "  if (cache[id] !== undefined) return cache[id].exports;",
    "  const [requires, body] = modules[id];",
    "  const module = (cache[id] = { exports: {} });",
    "  body(module, module.exports, (name) => load(requires[name]));",
    "  return module.exports;",
    "}",
    "",
    `const dnsPacket = load(${JSON.stringify(entry)});`,
    "export default dnsPacket;",
    `/** The npm \`buffer\` Buffer that dns-packet decodes from and encodes into. */`,
    `export const Buffer = load(${JSON.stringify(bufferMain)}).Buffer;`,
    `export const { ${names.join(", ")} } = dnsPacket;`,
    "",
  ].join("\n");
  const dts = [
    `// GENERATED by scripts/vendor_dns_packet.ts: the types of ${JS_NAME}, do not edit.`,
    "// deno-fmt-ignore-file",
    'import type { Buffer as NodeBuffer } from "node:buffer";',
    "// Types only: nothing here loads npm dns-packet at run time.",
    '// @ts-types="@types/dns-packet"',
    'import * as dnsPacket from "dns-packet";',
    '// @ts-types="@types/dns-packet"',
    'export * from "dns-packet";',
    "export default dnsPacket;",
    "/** The npm `buffer` Buffer that dns-packet decodes from and encodes into. */",
    "export declare const Buffer: typeof NodeBuffer;",
    "",
  ].join("\n");
  return { js, dts };
}

if (import.meta.main) {
  const config = option("--config", join(ROOT, "deno.json"));
  const out = option("--out", join(ROOT, "lib/wire"));
  const { js, dts } = await generate(config);
  await Deno.writeTextFile(join(out, JS_NAME), js);
  await Deno.writeTextFile(join(out, DTS_NAME), dts);
  console.log(`wrote ${join(out, JS_NAME)} (${js.length} characters) and ${DTS_NAME}`);
}
