/** A parsed `WWW-Authenticate` challenge. */
export interface AuthChallenge {
  scheme: "bearer" | "basic" | "other";
  params: Record<string, string>;
}

/**
 * Parse the first challenge of a `WWW-Authenticate` header, e.g.
 * `Bearer realm="https://auth.example/token",service="registry",scope="repository:x:pull"`.
 */
export function parseChallenge(header: string | null): AuthChallenge | null {
  if (!header) return null;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return null;
  const name = (match[1] as string).toLowerCase();
  const params: Record<string, string> = {};
  const paramRe = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  for (const param of (match[2] as string).matchAll(paramRe)) {
    params[(param[1] as string).toLowerCase()] = param[2] !== undefined ? param[2].replace(/\\(.)/g, "$1") : (param[3] ?? "");
  }
  return { scheme: name === "bearer" ? "bearer" : name === "basic" ? "basic" : "other", params };
}

/** Registry credentials for publishing (pulls of official environments are anonymous). */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Credentials from `OCI_REGISTRY_USERNAME`/`OCI_REGISTRY_PASSWORD`, if both are set. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): RegistryCredentials | undefined {
  const username = env.OCI_REGISTRY_USERNAME;
  const password = env.OCI_REGISTRY_PASSWORD;
  return username && password ? { username, password } : undefined;
}

/** `Authorization: Basic …` value. */
export function basicAuth(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}
