import type { InstalledEnvironment } from "../../environments/index.js";
import type { Backend } from "../../runtime/backend.js";
import { PyroError } from "../../util/errors.js";

/** The identity an agent process runs as (protocol/SPEC.md, exec `user`). */
export interface ProcessUser {
  uid: number;
  gid: number;
  groups: number[];
}

/** Who owns what the agent writes for the user (seed, sync, file write, patch, secrets). */
export interface FileOwner {
  uid: number;
  gid: number;
}

/**
 * An OCI image's non-root `User` (resolved at pull), as the agent's
 * process `user` and file `owner`; null for root and catalog environments.
 */
export function imageUser(environment: Pick<InstalledEnvironment, "image">): { user: ProcessUser; owner: FileOwner; home: string } | null {
  const runAs = environment.image?.run_as;
  if (!runAs) return null;
  return { user: { uid: runAs.uid, gid: runAs.gid, groups: runAs.groups }, owner: { uid: runAs.uid, gid: runAs.gid }, home: runAs.home };
}

/** `{ user }` for an agent request that starts a process, empty for root: spread into the request. */
export function userField(environment: Pick<InstalledEnvironment, "image">): { user?: ProcessUser } {
  const found = imageUser(environment);
  return found ? { user: found.user } : {};
}

/** `{ owner }` for an agent request that writes files for the user, empty for root: spread into the request. */
export function ownerField(environment: Pick<InstalledEnvironment, "image">): { owner?: FileOwner } {
  const found = imageUser(environment);
  return found ? { owner: found.owner } : {};
}

/**
 * Refuse a machine of an image with a non-root `User` on a backend that
 * cannot switch to it: the sandbox's user namespace maps root only (no other
 * uid exists there; docs/images.md says why it is not widened). Running as
 * root instead would give the same request another behaviour there.
 */
export function requireUserSupport(backend: Pick<Backend, "name" | "capabilities">, environment: Pick<InstalledEnvironment, "image" | "name">): void {
  const runAs = environment.image?.run_as;
  if (!runAs || backend.capabilities.vm_boot) return;
  throw new PyroError(
    "unsupported",
    `image ${environment.image?.reference ?? environment.name} runs as User ${JSON.stringify(environment.image?.user)} (uid ${runAs.uid}), and the ${backend.name} backend can run only as root`,
    {
      hint: "use --backend qemu (or firecracker), which runs its commands, shells and services as the image's User; or use an image without a User (or with USER root)",
    },
  );
}
