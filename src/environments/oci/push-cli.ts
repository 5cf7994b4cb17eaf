#!/usr/bin/env node
/**
 * `npm run env:push -- NAME [--registry HOST] [--reference HOST/REPO:TAG]
 * [--cache-dir DIR] [--chunk-size BYTES] [--build]`: publish an environment
 * as an OCI artifact. Credentials come from OCI_REGISTRY_USERNAME and
 * OCI_REGISTRY_PASSWORD; prints the push result as JSON on stdout.
 */
import { parseArgs } from "node:util";
import { PyroError, toPyroError } from "../../util/errors.js";
import { resolveConfig } from "../../util/config.js";
import { catalogEntry, DEFAULT_OCI_REGISTRY } from "../catalog.js";
import { pullEnvironmentInto } from "../pull.js";
import { credentialsFromEnv } from "./auth.js";
import { pushEnvironment } from "./push.js";
import { catalogReference, parseReference } from "./reference.js";

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      registry: { type: "string" },
      reference: { type: "string" },
      "cache-dir": { type: "string" },
      "chunk-size": { type: "string" },
      build: { type: "boolean", default: false },
    },
  });
  const name = positionals[0];
  if (!name || positionals.length > 1) {
    throw new PyroError("invalid_argument", "expected exactly one environment name", {
      hint: "npm run env:push -- debian:12 --registry 127.0.0.1:5000",
    });
  }
  const entry = catalogEntry(name);
  const config = resolveConfig(process.env);
  const cacheDir = values["cache-dir"] ?? config.cacheDir;
  const registry = values.registry ?? config.oci.registry ?? DEFAULT_OCI_REGISTRY;
  const target = values.reference ? parseReference(values.reference) : catalogReference(entry.oci, registry);
  if (!target) {
    throw new PyroError("invalid_argument", "no registry to push to", { hint: "pass --registry HOST[:PORT] or set PYRO_OCI_REGISTRY" });
  }
  const progress = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  if (values.build) await pullEnvironmentInto(name, { config, cacheDir, source: "local", onProgress: progress });
  const chunk = values["chunk-size"] ?? config.oci.uploadChunkSizeBytes;
  const credentials = credentialsFromEnv(config.env);
  const result = await pushEnvironment(name, {
    cacheDir,
    target,
    onProgress: progress,
    ...(chunk ? { chunkSize: Number(chunk) } : {}),
    ...(credentials ? { credentials } : {}),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`error: ${toPyroError(error).describe()}\n`);
  process.exitCode = 1;
});
