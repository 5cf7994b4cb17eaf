import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import * as vocabulary from "../../src/util/vocabulary.js";
import { OPERATIONS } from "../../src/contract/index.js";
import { REPO_ROOT } from "../helpers/env.js";

const SRC = join(REPO_ROOT, "src");

/** Every TypeScript source file under src/, with its text. */
function sources(): Array<{ path: string; text: string }> {
  return (readdirSync(SRC, { recursive: true }) as string[])
    .filter((name) => name.endsWith(".ts"))
    .map((name) => ({ path: `src/${name}`, text: readFileSync(join(SRC, name), "utf8") }));
}

/** Lines that name several words of a list on purpose, and why. */
const ALLOWED = [
  // An order of preference over some backends, not the list of backends.
  "const GUEST_PREFERENCE: BackendName[] =",
];

/** The `as const` arrays of util/vocabulary.ts, by export name. */
const WORDS = Object.entries(vocabulary as Record<string, unknown>).filter((entry): entry is [string, readonly string[]] => Array.isArray(entry[1]));

describe("one vocabulary", () => {
  it("spells each list of words only in util/vocabulary.ts", () => {
    expect(WORDS.map(([name]) => name)).toEqual(
      expect.arrayContaining(["BACKEND_NAMES", "EXECUTION_MODES", "NETWORK_POLICIES", "VM_STATES", "WORKSPACE_STATES", "SIGNAL_NAMES"]),
    );
    const copies: string[] = [];
    for (const file of sources()) {
      if (file.path === "src/util/vocabulary.ts") continue;
      for (const [name, words] of WORDS) {
        // Two words of one list side by side, in a union type (`"a" | "b"`) or an array (`["a", "b"`), is a second copy of it.
        for (const a of words) {
          for (const b of words) {
            if (a === b) continue;
            const pattern = new RegExp(`"${escape(a)}"\\s*[|,]\\s*"${escape(b)}"`);
            const line = file.text.split("\n").find((l) => pattern.test(l));
            if (line !== undefined && !ALLOWED.some((allowed) => line.includes(allowed))) copies.push(`${file.path} repeats ${name} ("${a}", "${b}")`);
          }
        }
      }
    }
    expect(copies).toEqual([]);
  });

  it("is what the contract's schemas accept and report", () => {
    const enumValues = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "output" }).enum;
    const vmInfo = OPERATIONS.statusVm.result.shape;
    expect(enumValues(vmInfo.backend)).toEqual([...vocabulary.BACKEND_NAMES]);
    expect(enumValues(vmInfo.execution_mode)).toEqual([...vocabulary.EXECUTION_MODES]);
    expect(enumValues(vmInfo.state)).toEqual([...vocabulary.VM_STATES]);
    const workspaceInfo = OPERATIONS.statusWorkspace.result.shape;
    expect(enumValues(workspaceInfo.state)).toEqual([...vocabulary.WORKSPACE_STATES]);
    // Results used to report the policy as any string; now the output schemas name the three policies.
    expect(enumValues(workspaceInfo.network_policy)).toEqual([...vocabulary.NETWORK_POLICIES]);
    expect(enumValues(OPERATIONS.networkInfoVm.result.shape.policy)).toEqual([...vocabulary.NETWORK_POLICIES]);
    expect(OPERATIONS.createWorkspace.input.parse({ environment: "debian:12" }).network_policy).toBe("off");
    expect(OPERATIONS.signalShell.input.safeParse({ workspace_id: "w", shell_id: "s", signal_name: "STOP" }).success).toBe(false);
  });

  it("maps the VM `network` boolean onto the policies", () => {
    expect(vocabulary.networkPolicyOf(true)).toBe("egress");
    expect(vocabulary.networkPolicyOf(false)).toBe("off");
    expect(vocabulary.NETWORK_POLICIES.filter(vocabulary.allowsEgress)).toEqual(["egress", "egress+published-ports"]);
    expect(vocabulary.NETWORK_POLICIES.filter(vocabulary.allowsPublishedPorts)).toEqual(["egress+published-ports"]);
  });
});

describe("protocol types", () => {
  it("exports nothing that no code uses (src/protocol/*.ts)", () => {
    const files = sources();
    const unused: string[] = [];
    for (const file of files.filter((f) => f.path.startsWith("src/protocol/"))) {
      const names = [...file.text.matchAll(/^export (?:const|function|class|interface|type|enum) ([A-Za-z_0-9]+)/gm)].map((m) => m[1]!);
      for (const name of names) {
        const word = new RegExp(`\\b${name}\\b`, "g");
        // Used: by another file of src/ or test/, or by another declaration of its own file.
        const elsewhere = files.some((f) => f.path !== file.path && !f.path.endsWith("/index.ts") && word.test(f.text)) || testsMention(name);
        const inFile = (file.text.match(word) ?? []).length > 1;
        if (!elsewhere && !inFile) unused.push(`${relative(REPO_ROOT, join(REPO_ROOT, file.path))}: ${name}`);
      }
    }
    expect(unused).toEqual([]);
  });
});

let testTexts: string[] | undefined;
function testsMention(name: string): boolean {
  testTexts ??= (readdirSync(join(REPO_ROOT, "test"), { recursive: true }) as string[])
    .filter((n) => n.endsWith(".ts") && !n.endsWith("vocabulary.test.ts"))
    .map((n) => readFileSync(join(REPO_ROOT, "test", n), "utf8"));
  return testTexts.some((text) => new RegExp(`\\b${name}\\b`).test(text));
}

function escape(word: string): string {
  return word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
