/**
 * One layer download the way `pyro env pull` does it, in a fresh process:
 * manifest, config, then the timed download. Prints the download's seconds.
 * `verified` (the default) is RegistryClient.downloadBlob, as a pull runs it;
 * `transfer` is the same GET and the same BlobFile with a stand-in for the
 * sha256, so the two differ by the hash alone (the work curl -o FILE does).
 * Used by env-bench.ts.
 * Usage: pull-download.js REFERENCE LAYER_DIGEST LAYER_SIZE TARGET [verified|transfer]
 */
import { performance } from "node:perf_hooks";
import { BlobFile, type BlobHash } from "../src/environments/oci/blob-download.js";
import { RegistryClient } from "../src/environments/oci/client.js";
import { parseReference } from "../src/environments/oci/reference.js";
import { getStream } from "../src/environments/oci/stream-get.js";

const [reference = "", digest = "", sizeText = "0", target = "", mode = "verified"] = process.argv.slice(2);
const size = Number(sizeText);
const ref = parseReference(reference);
const client = new RegistryClient(ref);
const { manifest } = await client.getManifest(ref.reference);
await client.getSmallBlob(manifest.config.digest, manifest.config.size);

const noHash: BlobHash = { update: () => undefined, digest: () => "" };

/** Receive and store exactly as downloadBlob does (one attempt, anonymous plain-HTTP registry), without the sha256. */
async function transferOnly(): Promise<void> {
  const response = await getStream(`${ref.scheme}://${ref.registry}/v2/${ref.repository}/blobs/${digest}`, {}, 30_000);
  if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
  const file = BlobFile.create(target, () => noHash);
  try {
    await file.append(response.body, { size, idleMs: 30_000, tooLarge: () => new Error("blob larger than declared") });
    if (file.received !== size) throw new Error(`received ${file.received} of ${size} bytes`);
  } finally {
    file.close();
  }
}

const started = performance.now();
if (mode === "transfer") await transferOnly();
else await client.downloadBlob(digest, size, target);
console.log(((performance.now() - started) / 1000).toFixed(6));
