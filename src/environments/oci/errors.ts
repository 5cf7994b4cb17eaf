import { PyroError } from "../../util/errors.js";

/**
 * Why talking to a registry failed. `unreachable` and `protocol` (the
 * registry answered nonsense) and `missing` (artifact not published) allow a
 * fallback to a local build; `integrity` (content does not match its digest)
 * never does.
 */
export type RegistryFailure = "unreachable" | "protocol" | "missing" | "integrity" | "denied";

/** A PyroError raised by the OCI client, tagged with its {@link RegistryFailure}. */
export class RegistryError extends PyroError {
  constructor(
    readonly failure: RegistryFailure,
    message: string,
    options: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(
      failure === "integrity" ? "corrupt_state" : failure === "missing" ? "not_found" : failure === "denied" ? "failed_precondition" : "unavailable",
      message,
      {
        hint:
          options.hint ??
          (failure === "integrity"
            ? "the registry served content that does not match its digest; nothing was installed. Report it to the registry's operator, or build locally by unsetting PYRO_OCI_REGISTRY"
            : failure === "denied"
              ? "set OCI_REGISTRY_USERNAME and OCI_REGISTRY_PASSWORD for a registry that needs credentials"
              : "check that the registry is up and PYRO_OCI_REGISTRY names it, or unset PYRO_OCI_REGISTRY to build locally"),
        details: { registry_failure: failure, ...options.details },
        cause: options.cause,
      },
    );
  }

  /** Whether an automatic pull may fall back to building locally after this failure. */
  get allowsFallback(): boolean {
    return this.failure === "unreachable" || this.failure === "protocol" || this.failure === "missing";
  }
}
