import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES, DEFAULT_MAX_ARCHIVE_BYTES, resolveConfig, type PyroConfig } from "../../src/util/config.js";
import { REPO_ROOT } from "../helpers/env.js";

const CONFIG_MODULE = "src/util/config.ts";
const NAMES = CONFIG_VARIABLES.map((v) => v.name as string);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const SOURCES = sourceFiles(join(REPO_ROOT, "src")).map((path) => ({ path: relative(REPO_ROOT, path), text: readFileSync(path, "utf8") }));

/** The configuration without the environment it came from, for comparisons. */
function settings(config: PyroConfig): Omit<PyroConfig, "env"> {
  const { env: _env, ...rest } = config;
  return rest;
}

/** README's configuration table as the table in src/util/config.ts says it must read. */
function expectedReadmeTable(): string {
  const rows = CONFIG_VARIABLES.map((v) => `| \`${v.name}\` | ${v.type} | ${v.default} | ${v.meaning} |`);
  return ["| variable | type | default | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

describe("one configuration", () => {
  it("lists every PYRO_* variable the source mentions, and nothing is listed twice", () => {
    // Constants named PYRO_… (OCI media types) are identifiers, not variables.
    const identifiers = new Set(SOURCES.flatMap((s) => [...s.text.matchAll(/\b(?:const|let|var|function|class|type|interface|enum)\s+(PYRO_[A-Z0-9_]+)/g)].map((m) => m[1]!)));
    const mentioned = new Map<string, string>();
    for (const { path, text } of SOURCES) {
      for (const [name] of text.matchAll(/\bPYRO_[A-Z0-9_]+\b/g)) if (!identifiers.has(name) && !mentioned.has(name)) mentioned.set(name, path);
    }
    const unlisted = [...mentioned].filter(([name]) => !NAMES.includes(name)).map(([name, path]) => `${name} (${path})`);
    expect(unlisted, `add these to CONFIG_VARIABLES in ${CONFIG_MODULE}`).toEqual([]);
    expect(new Set(NAMES).size).toBe(NAMES.length);
  });

  it(`reads PYRO_* from an environment only in ${CONFIG_MODULE}`, () => {
    const readers = SOURCES.filter((s) => s.path !== CONFIG_MODULE && /\.PYRO_[A-Z]|\[\s*["'`]PYRO_[A-Z]/.test(s.text)).map((s) => s.path);
    expect(readers, "read the value from the resolved PyroConfig instead").toEqual([]);
  });

  it("honours every variable of the table: each changes the resolved configuration", () => {
    const base = { HOME: "/nonexistent/home", PATH: "/usr/bin" };
    const defaults = settings(resolveConfig(base));
    const ignored = CONFIG_VARIABLES.filter((v) => isDeepStrictEqual(settings(resolveConfig({ ...base, [v.name]: v.example })), defaults)).map((v) => v.name);
    expect(ignored, "resolveConfig must read these (or their example must differ from the default)").toEqual([]);
  });

  it("resolves values and defaults as documented", () => {
    const none = resolveConfig({ HOME: "/h" });
    expect(none.stateDir).toBe("/h/.local/state/pyro-mcp");
    expect(none.cacheDir).toBe("/h/.cache/pyro-mcp/environments");
    expect(resolveConfig({ HOME: "/h", XDG_STATE_HOME: "/x/state", XDG_CACHE_HOME: "/x/cache" })).toMatchObject({
      stateDir: "/x/state/pyro-mcp",
      cacheDir: "/x/cache/pyro-mcp/environments",
    });
    // Explicit options win over the environment.
    const explicit = resolveConfig({ HOME: "/h", PYRO_STATE_DIR: "/env/state", PYRO_ENVIRONMENT_CACHE_DIR: "/env/cache" }, { stateDir: "/opt/s", cacheDir: "/opt/c" });
    expect([explicit.stateDir, explicit.cacheDir]).toEqual(["/opt/s", "/opt/c"]);
    expect(none).toMatchObject({ maxArchiveBytes: DEFAULT_MAX_ARCHIVE_BYTES, reapIntervalMs: 60_000, debug: false, backend: undefined });
    expect(none.qemu).toEqual({ bin: undefined, imgBin: undefined, accel: undefined, machine: "microvm", snapshots: true, extraCmdline: [] });
    expect(resolveConfig({ HOME: "/h", PYRO_MAX_ARCHIVE_BYTES: "-5" }).maxArchiveBytes).toBe(DEFAULT_MAX_ARCHIVE_BYTES);
    expect(resolveConfig({ HOME: "/h", PYRO_REAP_INTERVAL_SECONDS: "0" }).reapIntervalMs).toBeNull();
    expect(resolveConfig({ HOME: "/h", PYRO_REAP_INTERVAL_SECONDS: "soon" }).reapIntervalMs).toBe(60_000);
    expect(resolveConfig({ HOME: "/h", PYRO_OCI_REGISTRY: "none" }).oci.registry).toBeNull();
    expect(resolveConfig({ HOME: "/h", PYRO_QEMU_EXTRA_CMDLINE: " a  b " }).qemu.extraCmdline).toEqual(["a", "b"]);
    expect(resolveConfig({ HOME: "/h", PYRO_JAILER_UID: "12x" }).firecracker.jailerUid).toBeUndefined();
  });

  it("is the table README's configuration section shows", () => {
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    const section = /^## Configuration\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? "";
    const table = section
      .split("\n")
      .filter((line) => line.startsWith("|"))
      .join("\n");
    expect(table, `README.md's configuration table must read exactly:\n${expectedReadmeTable()}`).toBe(expectedReadmeTable());
  });
});
