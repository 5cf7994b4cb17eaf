import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { PublishedPort } from "../../runtime/backend.js";
import { writeFileAtomic } from "../../util/atomic-file.js";
import { AUTO_PORT_ATTEMPTS, freeHostPort, hostPortFree, portInUse } from "../../net/index.js";
import { PyroError } from "../../util/errors.js";
import type { WorkspaceRecord } from "./record.js";
import type { WorkspaceService } from "./service.js";

/** Ports each service published, by service name. */
export type ServicePorts = Record<string, PublishedPort[]>;

const FILE = "published-ports.json";

/** A port a service asks for: without `host_port`, pyro picks a free one. */
export interface WantedPort {
  host_port?: number | undefined;
  guest_port: number;
}

/**
 * Published ports of a workspace's services: host side on 127.0.0.1 only,
 * with network policy `egress+published-ports`, on backends that can forward
 * into a running guest. A published port lasts as long as the workspace (the
 * record lists it, so a restarted machine forwards it again at boot);
 * publishing the same pair again is a no-op, and asking for a guest port
 * without a host port reuses the host port it already has.
 */
export class PortService {
  constructor(private readonly workspaces: WorkspaceService) {}

  /** Refuse, before anything starts, ports this workspace cannot publish. */
  async check(record: WorkspaceRecord, wanted: WantedPort[]): Promise<void> {
    if (wanted.length === 0) return;
    if (record.network_policy !== "egress+published-ports") {
      throw new PyroError(
        "failed_precondition",
        `workspace ${record.workspace_id} has network policy ${record.network_policy}; publishing ports needs --network-policy egress+published-ports`,
        { hint: 'create a workspace with --network-policy egress+published-ports (network_policy: "egress+published-ports") to publish ports' },
      );
    }
    const machine = await this.workspaces.machine(record);
    if (!machine.backend.publishPorts) {
      throw new PyroError("unsupported", `the ${record.backend} backend cannot publish ports into a running workspace`, {
        hint: "use the qemu or sandbox backend for published ports; the service's port is still reachable from inside the workspace",
      });
    }
    const seen = new Map<number, number>();
    for (const port of [...record.published_ports, ...wanted]) {
      if (port.host_port === undefined) continue;
      const guest = seen.get(port.host_port);
      if (guest !== undefined && guest !== port.guest_port) {
        throw new PyroError("already_exists", `host port ${port.host_port} is already published (to guest port ${guest})`, {
          hint: "pick another host port, or omit it to let pyro pick",
        });
      }
      seen.set(port.host_port, port.guest_port);
    }
    // A port something else holds fails here, before the service starts, rather than after.
    for (const port of wanted) {
      if (port.host_port === undefined || record.published_ports.some((q) => q.host_port === port.host_port)) continue;
      if (!(await hostPortFree(port.host_port))) throw portInUse(port.host_port);
    }
  }

  /** Forward the ports not yet forwarded and remember them for `service`; returns what the service now publishes. */
  async publish(workspaceId: string, service: string, wanted: WantedPort[]): Promise<PublishedPort[]> {
    let failure: unknown;
    const resolved: PublishedPort[] = [];
    // The record's lock also serialises the ports file.
    await this.workspaces.records.update(workspaceId, async (current) => {
      const added: PublishedPort[] = [];
      try {
        const machine = await this.workspaces.machine(current);
        const forward = (port: PublishedPort) => machine.backend.publishPorts!(machine.spec, machine.handle, [port]);
        for (const want of wanted) {
          const known = [...current.published_ports, ...added].find((q) =>
            want.host_port === undefined ? q.guest_port === want.guest_port : q.host_port === want.host_port && q.guest_port === want.guest_port,
          );
          const port = known ?? (want.host_port === undefined ? await forwardFreePort(want.guest_port, forward) : { host_port: want.host_port, guest_port: want.guest_port });
          if (!known) {
            if (want.host_port !== undefined) await forward(port);
            added.push(port);
          }
          if (!resolved.some((q) => q.host_port === port.host_port)) resolved.push(port);
        }
        const ports = await this.read(workspaceId);
        ports[service] = resolved;
        await writeFileAtomic(this.path(workspaceId), JSON.stringify(ports), { mode: 0o600 });
      } catch (error) {
        // What was forwarded stays forwarded until the machine stops: record it so a restart and `status` know.
        failure = error;
      }
      return { ...current, published_ports: [...current.published_ports, ...added] };
    });
    if (failure) throw failure;
    return resolved;
  }

  /** What each service published (empty when none did). */
  async read(workspaceId: string): Promise<ServicePorts> {
    try {
      return JSON.parse(await readFile(this.path(workspaceId), "utf8")) as ServicePorts;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw new PyroError("corrupt_state", `the published ports of workspace ${workspaceId} are unreadable`);
    }
  }

  private path(workspaceId: string): string {
    return join(this.workspaces.records.dir(workspaceId), FILE);
  }
}

/**
 * Forward `guestPort` from a host port that is free right now; another
 * process may take it between the look and the stack's bind, so a port found
 * in use is retried on a fresh one a few times.
 */
async function forwardFreePort(guestPort: number, forward: (port: PublishedPort) => Promise<void>): Promise<PublishedPort> {
  for (let attempt = 1; ; attempt += 1) {
    const port = { host_port: await freeHostPort(), guest_port: guestPort };
    try {
      await forward(port);
      return port;
    } catch (error) {
      if (!(error instanceof PyroError && error.code === "already_exists") || attempt >= AUTO_PORT_ATTEMPTS) throw error;
    }
  }
}
