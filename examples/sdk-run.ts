/**
 * One command in a fresh guest, the smallest use of the SDK: `runInVm` creates a VM,
 * runs the command, and deletes the VM, whatever happens.
 *
 *   npx tsx examples/sdk-run.ts
 *
 * Configuration comes from the environment like the CLI's (`PYRO_BACKEND`,
 * `PYRO_STATE_DIR`, `PYRO_ENVIRONMENT_CACHE_DIR`; see docs/install.md).
 */
import { Pyro } from "pyro-mcp";

await using pyro = new Pyro({ onProgress: (line) => console.error(line) });
const result = await pyro.runInVm({ environment: "debian:12", command: "git --version", timeout_seconds: 60 });
console.log(result.stdout.trim());
console.error(`exit_code=${result.exit_code} backend=${result.backend} duration_ms=${result.duration_ms}`);
process.exitCode = result.exit_code;
