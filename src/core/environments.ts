import type { OperationResult } from "../contract/index.js";
import * as environments from "../environments/index.js";
import type { CoreContext } from "./context.js";

/** The environment operations over one context's cache. */
export class EnvironmentService {
  constructor(private readonly context: CoreContext) {}

  list(): Promise<OperationResult<"listEnvironments">> {
    return environments.listEnvironments(this.context.cacheDir);
  }

  pull(name: string): Promise<OperationResult<"pullEnvironment">> {
    return environments.pullEnvironment(name, { cacheDir: this.context.cacheDir, onProgress: this.context.progress });
  }

  inspect(name: string): Promise<OperationResult<"inspectEnvironment">> {
    return environments.inspectEnvironment(name, this.context.cacheDir);
  }

  prune(): Promise<OperationResult<"pruneEnvironments">> {
    return environments.pruneEnvironments(this.context.cacheDir);
  }
}
