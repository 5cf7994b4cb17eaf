// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * The layers of DESIGN.md, top to bottom. A layer may import only from the
 * layers listed for it; everything else is a lint error.
 */
const layers = {
  cli: ["sdk", "contract"],
  mcp: ["sdk", "contract"],
  sdk: ["core", "contract"],
  core: ["runtime", "environments", "net", "agent-client", "protocol", "contract", "util"],
  runtime: ["agent-client", "protocol", "environments", "net", "util", "contract"],
  environments: ["util", "contract"],
  net: ["util", "contract"],
  "agent-client": ["protocol", "util", "contract"],
  protocol: ["util"],
  contract: ["util"],
  util: [],
};
const all = Object.keys(layers);

/** @param {string} layer */
function restrictionsFor(layer) {
  const allowed = new Set([layer, ...layers[/** @type {keyof typeof layers} */ (layer)]]);
  const forbidden = all.filter((l) => !allowed.has(l));
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: forbidden.map((l) => ({
            group: [`**/${l}/*`, `**/${l}`, `../${l}/**`],
            message: `src/${layer} must not import src/${l}: dependencies point down the layers (docs/architecture.md).`,
          })),
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ["dist/**", "agent/**", "node_modules/**", "coverage/**", "bench/results/**", ".cache/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": ["error", { allow: ["error", "warn"] }],
    },
  },
  ...all.map(restrictionsFor),
  {
    // The faces dispatch through `Pyro#call<K>`, typed by the operation: a cast to never would hide a type error there.
    files: ["src/cli/**/*.ts", "src/mcp/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "TSAsExpression > TSNeverKeyword.typeAnnotation",
          message: "no `as never` in the faces: type the operation (OperationName generic, bindingOf) instead (docs/architecture.md).",
        },
      ],
    },
  },
  {
    // Plain JavaScript fixtures run under Node; TypeScript already checks names in .ts files.
    files: ["**/*.mjs", "**/*.js"],
    rules: { "no-undef": "off" },
  },
  {
    // CommonJS scripts (scripts/cli-snapshot-build.cjs: the bin requires it synchronously, at exit).
    files: ["scripts/**/*.cjs"],
    rules: { "no-undef": "off", "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // Test, bench and example code may print and reach into any layer.
    files: ["test/**/*.ts", "bench/**/*.ts", "bench/**/*.mjs", "scripts/**/*.ts", "examples/**/*.ts"],
    rules: { "no-console": "off" },
  },
);
