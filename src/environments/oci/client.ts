import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { basicAuth, parseChallenge, type RegistryCredentials } from "./auth.js";
import { readBody, type BlobResponse } from "./blob-body.js";
import { BlobFile } from "./blob-download.js";
import { RegistryError } from "./errors.js";
import { OCI_MANIFEST, OciManifestSchema, type OciManifest } from "./media-types.js";
import type { OciReference } from "./reference.js";
import { getStream } from "./stream-get.js";

/** Options of {@link RegistryClient}. */
export interface RegistryClientOptions {
  credentials?: RegistryCredentials;
  /** `pull` or `pull,push`: the scope asked of a token server. */
  actions?: "pull" | "pull,push";
  /** Deadline of small requests and idle deadline of streams (default 30 s). */
  requestTimeoutMs?: number;
  /** Attempts per blob download or upload chunk (default 5). */
  attempts?: number;
}

/** Progress of a blob transfer. */
export type TransferProgress = (done: number, total: number) => void;

/** Largest manifest or config blob pyro reads; real ones are a few KiB. */
const MAX_SMALL_DOCUMENT = 4 * 1024 * 1024;
const ACCEPT_MANIFEST = [OCI_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json"].join(", ");

function sha256Hex(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Read a response body, refusing more than `limit` bytes (a hostile registry can send anything). */
async function readLimited(response: Response, limit: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > limit) throw new RegistryError("protocol", `${what} is too large (${declared} bytes)`);
  const chunks: Buffer[] = [];
  let total = 0;
  if (!response.body) return Buffer.alloc(0);
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > limit) throw new RegistryError("protocol", `${what} is larger than ${limit} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

function isTransient(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * A minimal OCI distribution (registry v2 API) client for one repository:
 * anonymous or basic-credential bearer-token auth following the registry's
 * `WWW-Authenticate` challenge, manifests, blobs by digest with sha256
 * verification and resumable retries, and chunked uploads.
 */
export class RegistryClient {
  private authorization: string | undefined;
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly attempts: number;

  constructor(
    readonly ref: Pick<OciReference, "registry" | "scheme" | "repository">,
    private readonly options: RegistryClientOptions = {},
  ) {
    this.base = `${ref.scheme}://${ref.registry}`;
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.attempts = options.attempts ?? 5;
  }

  private url(path: string): string {
    return new URL(path, this.base).toString();
  }

  private unreachable(error: unknown, reason: string): RegistryError {
    return new RegistryError("unreachable", `registry ${this.ref.registry} is unreachable (${reason})`, {
      details: { registry: this.ref.registry, reason },
      cause: error,
    });
  }

  private async rawFetch(url: string, init: RequestInit, timeoutMs = this.timeoutMs): Promise<Response> {
    try {
      return await fetch(url, { ...init, redirect: "follow", signal: init.signal ?? AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      throw this.unreachable(error, cause?.code ?? (error as Error).name ?? "error");
    }
  }

  /** Answer a 401 challenge (its `WWW-Authenticate` header): fetch a bearer token, or use basic credentials. */
  private async authenticate(header: string | null): Promise<void> {
    const challenge = parseChallenge(header);
    if (challenge?.scheme === "basic" && this.options.credentials) {
      this.authorization = basicAuth(this.options.credentials);
      return;
    }
    if (challenge?.scheme !== "bearer" || !challenge.params.realm) {
      throw new RegistryError("denied", `registry ${this.ref.registry} requires authentication pyro cannot perform`, {
        details: { challenge: header },
      });
    }
    const tokenUrl = new URL(challenge.params.realm);
    if (challenge.params.service) tokenUrl.searchParams.set("service", challenge.params.service);
    tokenUrl.searchParams.set("scope", challenge.params.scope ?? `repository:${this.ref.repository}:${this.options.actions ?? "pull"}`);
    const headers: Record<string, string> = {};
    if (this.options.credentials) headers.authorization = basicAuth(this.options.credentials);
    const tokenResponse = await this.rawFetch(tokenUrl.toString(), { headers });
    if (tokenResponse.status === 401 || tokenResponse.status === 403) {
      throw new RegistryError("denied", `token server ${tokenUrl.host} refused access to ${this.ref.repository}`);
    }
    if (!tokenResponse.ok) {
      throw new RegistryError("protocol", `token server ${tokenUrl.host} answered HTTP ${tokenResponse.status}`);
    }
    let token: unknown;
    try {
      const body = JSON.parse((await readLimited(tokenResponse, 1024 * 1024, "token response")).toString("utf8")) as Record<string, unknown>;
      token = body.token ?? body.access_token;
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      throw new RegistryError("protocol", `token server ${tokenUrl.host} answered something that is not JSON`, { cause: error });
    }
    if (typeof token !== "string" || token.length === 0) {
      throw new RegistryError("protocol", `token server ${tokenUrl.host} answered without a token`);
    }
    this.authorization = `Bearer ${token}`;
  }

  /** One request with auth; a 401 is answered once by authenticating and retrying. */
  async request(method: string, pathOrUrl: string, init: { headers?: Record<string, string>; body?: Uint8Array; timeoutMs?: number } = {}): Promise<Response> {
    const url = this.url(pathOrUrl);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...init.headers };
      if (this.authorization) headers.authorization = this.authorization;
      const response = await this.rawFetch(url, { method, headers, body: init.body }, init.timeoutMs);
      if (response.status === 401 && attempt === 0) {
        await response.body?.cancel().catch(() => undefined);
        await this.authenticate(response.headers.get("www-authenticate"));
        continue;
      }
      if (response.status === 401 || response.status === 403) {
        await response.body?.cancel().catch(() => undefined);
        throw new RegistryError("denied", `registry ${this.ref.registry} denied ${method} ${new URL(url).pathname} (HTTP ${response.status})`);
      }
      return response;
    }
  }

  /**
   * Read a small body (manifest, config) of a GET made with {@link getWithAuth}.
   * Pulls read these through getStream rather than `fetch`: loading undici and
   * compiling it in the background cost a fresh `pyro` process ~40 ms before
   * the first request and ~70 ms of CPU during the layer download that follows.
   */
  private async readSmall(response: BlobResponse, what: string): Promise<Buffer> {
    const declared = Number(response.headers["content-length"] ?? "0");
    if (declared > MAX_SMALL_DOCUMENT) {
      response.body.destroy();
      throw new RegistryError("protocol", `${what} is too large (${declared} bytes)`);
    }
    try {
      return await readBody(response.body, MAX_SMALL_DOCUMENT, this.timeoutMs, () => new RegistryError("protocol", `${what} is larger than ${MAX_SMALL_DOCUMENT} bytes`));
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      throw this.unreachable(error, (error as NodeJS.ErrnoException).code ?? (error as Error).name ?? "error");
    }
  }

  /** Fetch and validate the manifest for a tag or digest; verifies the digest when fetched by digest. */
  async getManifest(reference: string): Promise<{ manifest: OciManifest; digest: string; bytes: Buffer }> {
    const response = await this.getWithAuth(`/v2/${this.ref.repository}/manifests/${reference}`, { accept: ACCEPT_MANIFEST }, "the manifest");
    const status = response.statusCode;
    if (status === 404) {
      response.body.destroy();
      throw new RegistryError("missing", `${this.ref.registry}/${this.ref.repository}:${reference} is not in the registry`, {
        hint: "publish it with `npm run env:push`, or unset PYRO_OCI_REGISTRY to build locally",
      });
    }
    if (status < 200 || status >= 300) {
      response.body.destroy();
      throw new RegistryError(isTransient(status) ? "unreachable" : "protocol", `registry ${this.ref.registry} answered HTTP ${status} for the manifest`);
    }
    const bytes = await this.readSmall(response, "manifest");
    const digest = sha256Hex(bytes);
    if (reference.startsWith("sha256:") && reference !== digest) {
      throw new RegistryError("integrity", `manifest ${reference} has digest ${digest}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString("utf8"));
    } catch (error) {
      throw new RegistryError("protocol", `registry ${this.ref.registry} answered a manifest that is not JSON`, { cause: error });
    }
    const result = OciManifestSchema.safeParse(parsed);
    if (!result.success) {
      throw new RegistryError("protocol", `registry ${this.ref.registry} answered a manifest that is not an OCI image manifest`, {
        details: { issues: result.error.issues.slice(0, 3).map((issue) => `${issue.path.join(".")}: ${issue.message}`) },
      });
    }
    return { manifest: result.data, digest, bytes };
  }

  /**
   * Fetch the manifest or index document `reference` (tag or digest) as
   * bytes with its media type, accepting `accept`; verifies the digest when
   * fetched by digest. Parsing is the caller's.
   */
  async getDocument(reference: string, accept: string): Promise<{ bytes: Buffer; digest: string; mediaType: string | null }> {
    const response = await this.getWithAuth(`/v2/${this.ref.repository}/manifests/${reference}`, { accept }, "the manifest");
    const status = response.statusCode;
    if (status === 404) {
      response.body.destroy();
      throw new RegistryError("missing", `${this.ref.registry}/${this.ref.repository}:${reference} is not in the registry`, {
        hint: "check the repository and tag (or digest) of the reference",
      });
    }
    if (status < 200 || status >= 300) {
      response.body.destroy();
      throw new RegistryError(isTransient(status) ? "unreachable" : "protocol", `registry ${this.ref.registry} answered HTTP ${status} for the manifest of ${this.ref.repository}:${reference}`);
    }
    const bytes = await this.readSmall(response, "manifest");
    const digest = sha256Hex(bytes);
    if (reference.startsWith("sha256:") && reference !== digest) {
      throw new RegistryError("integrity", `manifest ${reference} has digest ${digest}`);
    }
    const type = response.headers["content-type"];
    return { bytes, digest, mediaType: typeof type === "string" ? (type.split(";")[0] ?? "").trim() || null : null };
  }

  /** Fetch a small blob (config) into memory and verify it. */
  async getSmallBlob(digest: string, size: number): Promise<Buffer> {
    if (size > MAX_SMALL_DOCUMENT) throw new RegistryError("protocol", `config blob ${digest} is too large (${size} bytes)`);
    const response = await this.getWithAuth(`/v2/${this.ref.repository}/blobs/${digest}`, {}, `blob ${digest}`);
    const status = response.statusCode;
    if (status < 200 || status >= 300) {
      response.body.destroy();
      throw new RegistryError(status === 404 ? "missing" : isTransient(status) ? "unreachable" : "protocol", `blob ${digest}: HTTP ${status}`);
    }
    const bytes = await this.readSmall(response, `blob ${digest}`);
    const actual = sha256Hex(bytes);
    if (bytes.length !== size || actual !== digest) {
      throw new RegistryError("integrity", `blob ${digest} failed verification (got ${actual}, ${bytes.length} bytes)`);
    }
    return bytes;
  }

  /**
   * Download a blob to `destPath`, resuming with `Range` after dropped
   * connections and server errors, and verify size and sha256 at the end.
   * A file that failed verification is left behind for the caller to remove.
   */
  async downloadBlob(digest: string, size: number, destPath: string, onProgress?: TransferProgress): Promise<void> {
    const file = BlobFile.create(destPath);
    try {
      await this.downloadInto(file, digest, size, onProgress);
      const actual = file.digest();
      if (actual !== digest) {
        throw new RegistryError("integrity", `blob ${digest} from ${this.ref.registry} failed sha256 verification (got ${actual})`, {
          details: { expected: digest, actual },
        });
      }
    } finally {
      file.close();
    }
    const info = await stat(destPath);
    if (info.size !== size) throw new RegistryError("integrity", `blob ${digest} has ${info.size} bytes on disk, expected ${size}`);
  }

  private async downloadInto(file: BlobFile, digest: string, size: number, onProgress?: TransferProgress): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) await sleep(Math.min(200 * 2 ** attempt, 5_000));
      try {
        const headers: Record<string, string> = file.received > 0 ? { range: `bytes=${file.received}-` } : {};
        const response = await this.getWithAuth(`/v2/${this.ref.repository}/blobs/${digest}`, headers, "the blob download");
        const status = response.statusCode;
        if (status < 200 || status >= 300) {
          response.body.destroy();
          if (status === 404) throw new RegistryError("missing", `blob ${digest} is not in the registry`);
          const error = new RegistryError(isTransient(status) ? "unreachable" : "protocol", `blob ${digest}: HTTP ${status}`);
          if (isTransient(status)) {
            lastError = error;
            continue;
          }
          throw error;
        }
        // The server ignored Range: start over.
        if (file.received > 0 && status !== 206) file.restart();
        await this.appendBody(response, file, digest, size, onProgress);
        break;
      } catch (error) {
        // Only network trouble is retried; disk errors and bad content are final.
        if (!(error instanceof RegistryError) || error.failure !== "unreachable") throw error;
        lastError = error;
      }
    }
    if (file.received !== size) {
      if (lastError instanceof RegistryError) throw lastError;
      throw new RegistryError("unreachable", `download of blob ${digest} failed after ${this.attempts} attempts`, { cause: lastError });
    }
  }

  /** GET with auth through getStream, body not yet read; a 401 is answered once by authenticating and retrying. */
  private async getWithAuth(path: string, headers: Record<string, string>, what: string): Promise<BlobResponse> {
    const url = this.url(path);
    for (let attempt = 0; ; attempt++) {
      const all = { ...headers, ...(this.authorization ? { authorization: this.authorization } : {}) };
      let response: BlobResponse;
      try {
        response = await getStream(url, all, this.timeoutMs);
      } catch (error) {
        throw this.unreachable(error, (error as NodeJS.ErrnoException).code ?? (error as Error).name ?? "error");
      }
      if (response.statusCode === 401 && attempt === 0) {
        response.body.destroy();
        await this.authenticate(response.headers["www-authenticate"] ?? null);
        continue;
      }
      if (response.statusCode === 401 || response.statusCode === 403) {
        response.body.destroy();
        throw new RegistryError("denied", `registry ${this.ref.registry} denied ${what} (HTTP ${response.statusCode})`);
      }
      return response;
    }
  }

  private async appendBody(response: BlobResponse, file: BlobFile, digest: string, size: number, onProgress?: TransferProgress): Promise<void> {
    try {
      await file.append(response.body, {
        size,
        idleMs: this.timeoutMs,
        tooLarge: () => new RegistryError("integrity", `blob ${digest} is larger than its declared ${size} bytes`),
        onProgress: onProgress && ((received) => onProgress(received, size)),
      });
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      // Connection reset, idle timeout, or a write error; the caller decides.
      const code = (error as NodeJS.ErrnoException).code;
      if (code && /^E(NOSPC|DQUOT|ROFS|ACCES|PERM|IO)$/.test(code)) throw error;
      throw new RegistryError("unreachable", `download of blob ${digest} was interrupted at ${file.received} bytes`, { cause: error });
    }
  }

  /** Whether the registry already has `digest` in this repository. */
  async hasBlob(digest: string): Promise<boolean> {
    const response = await this.request("HEAD", `/v2/${this.ref.repository}/blobs/${digest}`);
    await response.body?.cancel().catch(() => undefined);
    return response.ok;
  }

  private async expect(response: Response, statuses: number[], what: string): Promise<Response> {
    if (statuses.includes(response.status)) return response;
    const text = (await readLimited(response, 64 * 1024, what).catch(() => Buffer.alloc(0))).toString("utf8").slice(0, 300);
    throw new RegistryError(isTransient(response.status) ? "unreachable" : "protocol", `${what}: registry ${this.ref.registry} answered HTTP ${response.status} ${text}`);
  }

  /**
   * Upload a blob with the chunked protocol: POST to open a session, PATCH
   * each chunk with `Content-Range`, PUT `?digest=` to commit. `read(offset,
   * length)` supplies the bytes. Skips blobs the registry already has.
   */
  async uploadBlob(
    digest: string,
    size: number,
    read: (offset: number, length: number) => Promise<Buffer>,
    chunkSize: number,
    onProgress?: TransferProgress,
  ): Promise<"uploaded" | "exists"> {
    if (await this.hasBlob(digest)) {
      onProgress?.(size, size);
      return "exists";
    }
    const started = await this.expect(await this.request("POST", `/v2/${this.ref.repository}/blobs/uploads/`), [202], "start upload");
    await started.body?.cancel().catch(() => undefined);
    let location = this.locationOf(started);
    let offset = 0;
    while (offset < size) {
      const length = Math.min(chunkSize, size - offset);
      const body = await read(offset, length);
      const response = await this.withRetries(() =>
        this.request("PATCH", location, {
          headers: {
            "content-type": "application/octet-stream",
            "content-range": `${offset}-${offset + length - 1}`,
            "content-length": String(length),
          },
          body,
          timeoutMs: Math.max(this.timeoutMs, 120_000),
        }),
      );
      await this.expect(response, [202, 204], `upload chunk at ${offset}`);
      await response.body?.cancel().catch(() => undefined);
      location = this.locationOf(response);
      offset += length;
      onProgress?.(offset, size);
    }
    const commit = new URL(this.url(location));
    commit.searchParams.set("digest", digest);
    const done = await this.expect(await this.request("PUT", commit.toString(), { headers: { "content-length": "0" } }), [201, 204], "commit upload");
    await done.body?.cancel().catch(() => undefined);
    return "uploaded";
  }

  private locationOf(response: Response): string {
    const location = response.headers.get("location");
    if (!location) throw new RegistryError("protocol", `registry ${this.ref.registry} answered an upload without a Location`);
    return this.url(location);
  }

  private async withRetries(fn: () => Promise<Response>): Promise<Response> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) await sleep(Math.min(200 * 2 ** attempt, 5_000));
      try {
        const response = await fn();
        if (!isTransient(response.status)) return response;
        lastError = new RegistryError("unreachable", `HTTP ${response.status}`);
        await response.body?.cancel().catch(() => undefined);
      } catch (error) {
        if (!(error instanceof RegistryError) || error.failure !== "unreachable") throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  /** PUT a manifest under `tag`; returns its digest. */
  async putManifest(tag: string, bytes: Buffer, mediaType: string): Promise<string> {
    const response = await this.request("PUT", `/v2/${this.ref.repository}/manifests/${tag}`, {
      headers: { "content-type": mediaType },
      body: bytes,
    });
    await this.expect(response, [201, 200], "put manifest");
    await response.body?.cancel().catch(() => undefined);
    return sha256Hex(bytes);
  }
}
