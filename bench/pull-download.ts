/**
 * One layer download the way `pyro env pull` does it, in a fresh process:
 * manifest, config, then the timed downloadBlob. Prints the download's seconds.
 * Used by env-bench.ts.
 * Usage: pull-download.js REFERENCE LAYER_DIGEST LAYER_SIZE TARGET
 */
import { performance } from "node:perf_hooks";
import { RegistryClient } from "../src/environments/oci/client.js";
import { parseReference } from "../src/environments/oci/reference.js";

const [reference = "", digest = "", size = "0", target = ""] = process.argv.slice(2);
const ref = parseReference(reference);
const client = new RegistryClient(ref);
const { manifest } = await client.getManifest(ref.reference);
await client.getSmallBlob(manifest.config.digest, manifest.config.size);
const started = performance.now();
await client.downloadBlob(digest, Number(size), target);
console.log(((performance.now() - started) / 1000).toFixed(6));
