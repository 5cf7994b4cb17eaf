import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import ts from "typescript";
import { REPO_ROOT } from "./env.js";

/**
 * Write the real modules `src/<name>.ts` for each of `names` (e.g.
 * `"util/lock"`), transpiled to ES modules, under `dir` at the same relative
 * paths, with a package.json that makes `.js` files ES modules: for child
 * processes that plain Node runs (it cannot load .ts). Their relative
 * imports resolve among each other, so list every module they reach.
 */
export function writeTranspiledModules(dir: string, names: string[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), '{"type":"module"}');
  for (const name of names) {
    const source = readFileSync(join(REPO_ROOT, "src", `${name}.ts`), "utf8");
    const out = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    mkdirSync(dirname(join(dir, `${name}.js`)), { recursive: true });
    writeFileSync(join(dir, `${name}.js`), out.outputText);
  }
}
