import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, expectTypeOf, it, vi } from "vitest";
import { OPERATIONS, OPERATION_NAMES, STREAMING_OPERATIONS, Pyro, type CommandCallOptions, type CreateCallOptions, type OperationInput, type OperationName, type PyroMethods } from "../../src/index.js";
import { CANCELLABLE_CREATES } from "../../src/contract/index.js";
import { Pyro as SdkPyro } from "../../src/sdk/index.js";
import { OperationMethods } from "../../src/sdk/methods.generated.js";
import { GENERATED_PATH, renderSdkMethods } from "../../scripts/sdk-methods.js";
import { REPO_ROOT } from "../helpers/env.js";

const generated = () => readFileSync(join(REPO_ROOT, GENERATED_PATH), "utf8");

/** Own method names of a prototype, constructor left out. */
const methodsOf = (prototype: object) => Object.getOwnPropertyNames(prototype).filter((name) => name !== "constructor");

describe("the SDK's typed methods", () => {
  it("are generated from the current catalog (run `npm run generate:sdk` when this fails)", () => {
    expect(generated()).toBe(renderSdkMethods());
  });

  it("are one real prototype method per catalog operation, each calling its own operation", async () => {
    // Real methods on the class, not properties attached at run time: exactly the catalog (`call` is abstract there).
    expect(methodsOf(OperationMethods.prototype).sort()).toEqual([...OPERATION_NAMES].sort());
    const pyro = new Pyro({ stateDir: "/nonexistent-state", cacheDir: "/nonexistent-cache", warmSpares: false });
    const call = vi.spyOn(pyro, "call").mockImplementation(async (name) => ({ dispatched: name }) as never);
    for (const name of OPERATION_NAMES) {
      const input = { marker: name };
      const method = pyro[name] as (input: unknown) => Promise<unknown>;
      await expect(method.call(pyro, input)).resolves.toEqual({ dispatched: name });
      // The streaming operations and the cancellable creates pass their call options on (undefined when none were given).
      if ([...STREAMING_OPERATIONS, ...CANCELLABLE_CREATES].includes(name as never)) expect(call).toHaveBeenLastCalledWith(name, input, undefined);
      else expect(call).toHaveBeenLastCalledWith(name, input);
    }
    expect(call).toHaveBeenCalledTimes(OPERATION_NAMES.length);
  });

  it("have the signatures the catalog's schemas give (optional input only where no field is required)", () => {
    // Checked by the typecheck (tsc covers test/): the class's methods are exactly PyroMethods.
    expectTypeOf<Pick<Pyro, OperationName>>().toEqualTypeOf<PyroMethods>();
    expectTypeOf<Pick<SdkPyro, OperationName>>().toEqualTypeOf<PyroMethods>();
    expectTypeOf<SdkPyro["doctor"]>().parameter(0).toEqualTypeOf<OperationInput<"doctor"> | undefined>();
    expectTypeOf<SdkPyro["runInVm"]>().parameter(0).toEqualTypeOf<OperationInput<"runInVm">>();
    expectTypeOf<SdkPyro["execWorkspace"]>().parameter(1).toEqualTypeOf<CommandCallOptions | undefined>();
    expectTypeOf<SdkPyro["createWorkspace"]>().parameter(1).toEqualTypeOf<CreateCallOptions | undefined>();
  });

  it("carry their operation's summary and details as JSDoc into the emitted .d.ts", () => {
    const declaration = ts.transpileDeclaration(generated(), {
      fileName: "methods.generated.ts",
      compilerOptions: { module: ts.ModuleKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true },
    });
    expect(declaration.diagnostics ?? []).toEqual([]);
    const text = declaration.outputText;
    for (const name of OPERATION_NAMES) {
      const operation = OPERATIONS[name];
      // `name(input` or, where the input narrows the result, `name<const I …>(input`.
      const signature = Math.max(text.indexOf(`\n    ${name}(input`), text.indexOf(`\n    ${name}<const I`));
      expect(signature, `${name} is declared`).toBeGreaterThan(0);
      // The comment right above the signature: from the previous declaration's end to the signature.
      const doc = text.slice(text.lastIndexOf("/**", signature), signature).replace(/\n\s*\* ?/g, " ");
      expect(doc, name).toContain(operation.summary);
      if (operation.details) expect(doc, name).toContain(operation.details.split(/\s+/).slice(0, 6).join(" "));
      if (operation.mcp) expect(doc, name).toContain(`MCP tool \`${operation.mcp}\``);
    }
    expect(text).toContain("abstract call<K extends OperationName>(name: K, input?: unknown, options?: CallOptions): Promise<OperationResult<K>>;");
  });
});

describe("the faces", () => {
  it("dispatch through typed calls: no `as never` in src/cli or src/mcp", () => {
    const casts: string[] = [];
    for (const dir of ["src/cli", "src/mcp"]) {
      for (const name of readdirSync(join(REPO_ROOT, dir), { recursive: true }) as string[]) {
        if (!name.endsWith(".ts")) continue;
        readFileSync(join(REPO_ROOT, dir, name), "utf8")
          .split("\n")
          .forEach((line, index) => {
            if (/\bas never\b/.test(line)) casts.push(`${dir}/${name}:${index + 1}: ${line.trim()}`);
          });
      }
    }
    expect(casts).toEqual([]);
  });
});
