import { PyroError } from "../../util/errors.js";

/** A parsed OCI reference `host[:port]/repository:tag` (or `@sha256:…`). */
export interface OciReference {
  /** Registry host with port, e.g. `127.0.0.1:5000`. */
  registry: string;
  /** `http` for loopback registries and explicit `http://` hosts, else `https`. */
  scheme: "http" | "https";
  repository: string;
  /** Tag or digest the manifest is fetched by. */
  reference: string;
}

function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return name === "localhost" || name === "::1" || /^127\./.test(name);
}

/** Split an optional `http://`/`https://` prefix off a registry host. */
export function parseRegistryHost(value: string): { registry: string; scheme: "http" | "https" } {
  const match = /^(https?):\/\/(.+?)\/?$/.exec(value.trim());
  if (match) return { scheme: match[1] as "http" | "https", registry: match[2] as string };
  const registry = value.trim().replace(/\/+$/, "");
  return { registry, scheme: isLoopback(registry) ? "http" : "https" };
}

/**
 * Parse `host[:port]/repo[/more]:tag` or `…@sha256:digest`. The host part is
 * required: pyro never guesses a default registry.
 */
export function parseReference(text: string): OciReference {
  const invalid = () =>
    new PyroError("invalid_argument", `not an OCI reference: ${JSON.stringify(text)}`, {
      hint: "use HOST[:PORT]/REPOSITORY:TAG, e.g. 127.0.0.1:5000/pyro/debian:12",
    });
  const { registry: withoutScheme, scheme } = parseRegistryHost(text);
  const slash = withoutScheme.indexOf("/");
  if (slash <= 0) throw invalid();
  const registry = withoutScheme.slice(0, slash);
  let rest = withoutScheme.slice(slash + 1);
  let reference = "latest";
  const at = rest.indexOf("@");
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon > rest.lastIndexOf("/")) {
      reference = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(rest)) throw invalid();
  if (!/^[\w][\w.-]{0,127}$/.test(reference) && !/^sha256:[0-9a-f]{64}$/.test(reference)) throw invalid();
  return { registry, scheme: scheme === "http" || isLoopback(registry) ? "http" : "https", repository: rest, reference };
}

/** `host/repo:tag` (or `@digest`) text of a reference, without the scheme. */
export function formatReference(ref: OciReference): string {
  const sep = ref.reference.startsWith("sha256:") ? "@" : ":";
  return `${ref.registry}/${ref.repository}${sep}${ref.reference}`;
}

/**
 * The full reference of a catalog entry's `repo:tag` on `registry`, or null
 * when no registry is configured.
 */
export function catalogReference(entryRef: string | undefined, registry: string | null): OciReference | null {
  if (!entryRef || !registry) return null;
  const host = parseRegistryHost(registry);
  const parsed = parseReference(`${host.registry}/${entryRef}`);
  return { ...parsed, scheme: host.scheme };
}
