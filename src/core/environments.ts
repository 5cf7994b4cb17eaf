import type { OperationResult } from "../contract/index.js";
import * as environments from "../environments/index.js";
import type { CoreContext } from "./context.js";

/** The environment operations over one context's cache. */
export class EnvironmentService {
  constructor(private readonly context: CoreContext) {}

  list(): Promise<OperationResult<"listEnvironments">> {
    return environments.listEnvironments(this.context.cacheDir);
  }

  /** Install an environment, and the guest kernel too when a VM backend can boot here, so the first run is fast. */
  async pull(name: string): Promise<OperationResult<"pullEnvironment">> {
    const options = { config: this.context.config, cacheDir: this.context.cacheDir, onProgress: this.context.progress };
    const result = await environments.pullEnvironment(name, options);
    if (await this.vmBackendUsable()) {
      // Not ensureEnvironment: it would pull (and print the [pull] lines) a second time.
      await environments.readyInstalledEnvironment(name, { ...options, kernel: true });
      return { ...(await environments.inspectEnvironment(name, this.context.cacheDir)), pulled: result.pulled };
    }
    return result;
  }

  private async vmBackendUsable(): Promise<boolean> {
    for (const backend of this.context.backends.backends) {
      if (backend.capabilities.vm_boot && (await this.context.backends.availability(backend.name)).usable) return true;
    }
    return false;
  }

  inspect(name: string): Promise<OperationResult<"inspectEnvironment">> {
    return environments.inspectEnvironment(name, this.context.cacheDir);
  }

  prune(): Promise<OperationResult<"pruneEnvironments">> {
    return environments.pruneEnvironments(this.context.cacheDir);
  }
}
