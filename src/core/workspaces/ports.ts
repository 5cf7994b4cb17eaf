import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { PublishedPort } from "../../runtime/backend.js";
import { writeFileAtomic } from "../../util/atomic-file.js";
import { PyroError } from "../../util/errors.js";
import type { WorkspaceRecord } from "./record.js";
import type { WorkspaceService } from "./service.js";

/** Ports each service published, by service name. */
export type ServicePorts = Record<string, PublishedPort[]>;

const FILE = "published-ports.json";

/**
 * Published ports of a workspace's services: host side on 127.0.0.1 only,
 * with network policy `egress+published-ports`, on backends that can forward
 * into a running guest. A published port lasts as long as the workspace (the
 * record lists it, so a restarted machine forwards it again at boot);
 * publishing the same pair again is a no-op.
 */
export class PortService {
  constructor(private readonly workspaces: WorkspaceService) {}

  /** Refuse, before anything starts, ports this workspace cannot publish. */
  async check(record: WorkspaceRecord, wanted: PublishedPort[]): Promise<void> {
    if (wanted.length === 0) return;
    if (record.network_policy !== "egress+published-ports") {
      throw new PyroError("failed_precondition", `workspace ${record.workspace_id} has network policy ${record.network_policy}; publishing ports needs egress+published-ports`, {
        hint: "create the workspace with --network-policy egress+published-ports (network_policy: \"egress+published-ports\")",
      });
    }
    const machine = await this.workspaces.machine(record);
    if (!machine.backend.publishPorts) {
      throw new PyroError("unsupported", `the ${record.backend} backend cannot publish ports into a running workspace`, {
        hint: "use the qemu backend for published ports; the service's port is still reachable from inside the workspace",
      });
    }
    const seen = new Map<number, number>();
    for (const port of [...record.published_ports, ...wanted]) {
      const guest = seen.get(port.host_port);
      if (guest !== undefined && guest !== port.guest_port) {
        throw new PyroError("already_exists", `host port ${port.host_port} is already published (to guest port ${guest})`, {
          hint: "pick another host port",
        });
      }
      seen.set(port.host_port, port.guest_port);
    }
  }

  /** Forward the ports not yet forwarded and remember them for `service`; returns what the service now publishes. */
  async publish(workspaceId: string, service: string, wanted: PublishedPort[]): Promise<PublishedPort[]> {
    // The record's lock also serialises the ports file.
    await this.workspaces.records.update(workspaceId, async (current) => {
      const fresh = wanted.filter((p) => !current.published_ports.some((q) => q.host_port === p.host_port && q.guest_port === p.guest_port));
      if (fresh.length > 0) {
        const machine = await this.workspaces.machine(current);
        await machine.backend.publishPorts!(machine.spec, machine.handle, fresh);
      }
      const ports = await this.read(workspaceId);
      ports[service] = wanted;
      await writeFileAtomic(this.path(workspaceId), JSON.stringify(ports), { mode: 0o600 });
      return { ...current, published_ports: [...current.published_ports, ...fresh] };
    });
    return wanted;
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
