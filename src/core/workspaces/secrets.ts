import { readFile } from "node:fs/promises";
import { PyroError } from "../../util/errors.js";
import { writeFileAtomic } from "../../util/atomic-file.js";
import { LIMITS, type SecretSource } from "../../contract/index.js";

const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Largest secret pyro accepts (a token or a small config file); the schemas state it too. */
const MAX_SECRET_BYTES = LIMITS.secret_value_bytes;
const REDACTED = "[REDACTED]";

/** A secret as given at create time. */
export type SecretDefinition = { name: string; value: string } | { name: string; file_path: string };

/** Secret values by name; kept only in the workspace's `secrets.json` (0600). */
export type SecretValues = Record<string, string>;

function checkName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new PyroError("invalid_argument", `secret name ${JSON.stringify(name)} is not allowed`, {
      hint: "secret names are letters, digits and underscores, starting with a letter or underscore (no '/' or '..')",
    });
  }
}

/** Resolve create-time definitions into values and record-safe metadata; errors never include a value. */
export async function resolveSecrets(definitions: SecretDefinition[]): Promise<{
  values: SecretValues;
  metadata: Array<{ name: string; source: SecretSource }>;
}> {
  const values: SecretValues = {};
  const metadata: Array<{ name: string; source: SecretSource }> = [];
  for (const definition of definitions) {
    checkName(definition.name);
    if (definition.name in values) {
      throw new PyroError("already_exists", `secret ${definition.name} is defined twice`, { hint: "give each secret one definition" });
    }
    let value: string;
    if ("value" in definition) {
      value = definition.value;
    } else {
      try {
        value = await readFile(definition.file_path, "utf8");
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new PyroError(code === "ENOENT" ? "not_found" : "io_error", `cannot read the file of secret ${definition.name}: ${definition.file_path} (${code ?? "error"})`, {
          hint: "pass an existing, readable file with --secret-file NAME=PATH",
        });
      }
    }
    if (Buffer.byteLength(value) > MAX_SECRET_BYTES) {
      throw new PyroError("limit_exceeded", `secret ${definition.name} is larger than ${MAX_SECRET_BYTES} bytes`);
    }
    values[definition.name] = value;
    metadata.push({ name: definition.name, source: "value" in definition ? "literal" : "file" });
  }
  return { values, metadata };
}

/** Persist values for reset to re-materialise (mode 0600). */
export async function saveSecrets(path: string, values: SecretValues): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(values), { mode: 0o600 });
}

/** Values saved by {@link saveSecrets}; empty when the workspace has none. */
export async function loadSecrets(path: string): Promise<SecretValues> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as SecretValues;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new PyroError("corrupt_state", `the workspace's secret store is unreadable (${path})`);
  }
}

/** Map `NAME` / `NAME=ENV_VAR` entries to environment variables for one call. */
export function secretEnvironment(entries: string[] | undefined, values: SecretValues): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const [name, variable = name] = entry.split("=", 2) as [string, string?];
    if (!(name in values)) {
      throw new PyroError("not_found", `the workspace has no secret named ${name}`, {
        hint: "secrets are defined at workspace create with --secret or --secret-file",
      });
    }
    env[variable] = values[name]!;
  }
  return env;
}

/** Replace every secret value in `text` with `[REDACTED]`, longest first so overlapping values stay hidden. */
export function redact(text: string, values: SecretValues): string {
  let result = text;
  for (const value of Object.values(values).filter((v) => v.length > 0).sort((a, b) => b.length - a.length)) {
    result = result.split(value).join(REDACTED);
  }
  return result;
}
