import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { fromIncomingMessage, type BlobResponse } from "./blob-body.js";
import { rawGet } from "./raw-get.js";

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/**
 * GET `url` and resolve with the response once its head arrives (within
 * `timeoutMs`), its body not yet read. Redirects are followed, dropping
 * `authorization` when the origin changes (registries redirect blobs to
 * storage that must not see the registry token). Fails with Node's own errors.
 *
 * Plain-HTTP hops use {@link rawGet} (a fraction of node:http's CPU per byte);
 * HTTPS hops, and chunked bodies over HTTP, use `node:http(s)`, which in turn
 * costs several times less than `fetch`'s stream.
 */
export async function getStream(url: string, headers: Record<string, string>, timeoutMs: number): Promise<BlobResponse> {
  let current = new URL(url);
  const sent = { ...headers };
  for (let hop = 0; ; hop++) {
    const response = await getOnce(current, sent, timeoutMs);
    const location = response.headers.location;
    if (!REDIRECTS.has(response.statusCode) || !location || hop === MAX_REDIRECTS) return response;
    response.body.destroy();
    const next = new URL(location, current);
    if (next.origin !== current.origin) delete sent.authorization;
    current = next;
  }
}

async function getOnce(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<BlobResponse> {
  if (url.protocol === "http:") {
    const response = await rawGet(url, headers, timeoutMs);
    const encoding = response.headers["transfer-encoding"];
    const ok = response.statusCode >= 200 && response.statusCode < 300;
    if (!ok || encoding === undefined || encoding.toLowerCase() === "identity") return response;
    // rawGet does not decode chunked bodies: ask again through node:http (rare: blob servers send Content-Length).
    response.body.destroy();
  }
  return fromIncomingMessage(await nodeGet(url, headers, timeoutMs));
}

function nodeGet(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      reject(Object.assign(new Error(`unsupported protocol ${url.protocol}`), { code: "EPROTO" }));
      return;
    }
    const request = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, { method: "GET", headers });
    const timer = setTimeout(() => {
      request.destroy(Object.assign(new Error(`no response within ${timeoutMs} ms`), { code: "ETIMEDOUT" }));
    }, timeoutMs);
    request.once("response", (response) => {
      clearTimeout(timer);
      resolve(response);
    });
    // Errors after the response arrived reach its body stream; this listener only keeps them from going unhandled.
    request.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end();
  });
}
