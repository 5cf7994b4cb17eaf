import { PyroError } from "../../util/errors.js";
import { CATALOG, catalogNames } from "../catalog.js";
import type { OciReference } from "../oci/reference.js";

/** Prefix that makes a name an image reference even where a catalog name would match. */
export const IMAGE_PREFIX = "oci:";

/** Docker Hub's name in references, and the host its registry API answers on. */
const DOCKER_HUB = "docker.io";
const DOCKER_HUB_API = "registry-1.docker.io";

/** A parsed image reference: where to fetch it and how to name it. */
export interface ImageReference extends OciReference {
  /** Canonical text: `registry/repository:tag`, `…@sha256:…`, or both (`:tag@sha256:…`). */
  canonical: string;
  /** The tag written, if any (kept for display when a digest pins the reference). */
  tag: string | null;
  /** The manifest digest written, if any. */
  digest: string | null;
  /** The registry as written in references (`docker.io` for Docker Hub). */
  domain: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;

function loopback(domain: string): boolean {
  const host = domain.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

function invalid(text: string, why: string): PyroError {
  return new PyroError("invalid_argument", `not an image reference: ${JSON.stringify(text)} (${why})`, {
    hint: "use [REGISTRY[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. python:3.12-slim, docker.io/library/alpine:3.20 or 127.0.0.1:5000/team/app@sha256:…",
    details: { reference: text },
  });
}

/**
 * Parse an image reference the way Docker does: the first component is a
 * registry when it has a `.` or `:` or is `localhost`, else the image is on
 * Docker Hub (`python:3.12` → `docker.io/library/python:3.12`). Without tag
 * or digest the tag is `latest`. Registries on loopback and those in
 * `insecure` are spoken to over plain HTTP, the others over HTTPS.
 */
export function parseImageReference(input: string, insecure: readonly string[] = []): ImageReference {
  const text = input.startsWith(IMAGE_PREFIX) ? input.slice(IMAGE_PREFIX.length) : input;
  if (text.length === 0 || text.length > 512) throw invalid(input, "empty or too long");
  if (/\s|^[a-z]+:\/\//i.test(text)) throw invalid(input, "no spaces or URL scheme allowed");
  let rest = text;
  let digest: string | null = null;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(input, "a digest is sha256: and 64 lowercase hex digits");
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `bad tag ${JSON.stringify(tag)}`);
  }
  const parts = rest.split("/");
  let domain = DOCKER_HUB;
  const first = parts[0] ?? "";
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    domain = parts.shift() as string;
    if (!DOMAIN.test(domain)) throw invalid(input, `bad registry ${JSON.stringify(domain)}`);
  }
  if (domain === "index.docker.io") domain = DOCKER_HUB;
  if (parts.length === 0 || parts.some((part) => !COMPONENT.test(part))) throw invalid(input, "repository components are lowercase letters, digits and . _ -");
  if (domain === DOCKER_HUB && parts.length === 1) parts.unshift("library");
  const repository = parts.join("/");
  if (repository.length > 255) throw invalid(input, "repository name too long");
  const registry = domain === DOCKER_HUB ? DOCKER_HUB_API : domain;
  const plain = loopback(domain) || insecure.includes(domain);
  const shownTag = tag ?? (digest ? null : "latest");
  const canonical = `${domain}/${repository}${shownTag ? `:${shownTag}` : ""}${digest ? `@${digest}` : ""}`;
  return { registry, scheme: plain ? "http" : "https", repository, reference: digest ?? shownTag ?? "latest", canonical, tag: shownTag, digest, domain };
}

/** The reference pinned to `digest`: `registry/repository@sha256:…` (what records keep). */
export function pinnedName(ref: ImageReference, digest: string): string {
  return `${ref.domain}/${ref.repository}@${digest}`;
}

/**
 * Whether `name` means an image rather than a catalog environment: a catalog
 * name wins, `oci:` forces an image, and a Docker Hub shorthand in a catalog
 * repository (`debian:99`) is a mistyped catalog name, not a Docker Hub pull.
 */
export function isImageName(name: string): boolean {
  if (name.startsWith(IMAGE_PREFIX)) return true;
  if (CATALOG.some((entry) => entry.name === name)) return false;
  const repo = name.split(/[:@]/)[0] ?? "";
  if (CATALOG.some((entry) => entry.name.split(":")[0] === repo)) {
    throw new PyroError("not_found", `unknown environment ${JSON.stringify(name)}`, {
      hint: `choose one of: ${catalogNames().join(", ")} (see \`pyro env list\`); for the Docker Hub image write oci:${name}`,
      details: { environment: name, valid: catalogNames() },
    });
  }
  return true;
}
