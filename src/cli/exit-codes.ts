import type { ErrorCode } from "../contract/index.js";

/** Process exit codes of `pyro` for failures (`pyro run` success exits with the guest's code). */
export const EXIT_CODES: Record<ErrorCode, number> = {
  invalid_argument: 2,
  not_found: 3,
  already_exists: 3,
  failed_precondition: 4,
  unavailable: 5,
  guest_failure: 6,
  timeout: 6,
  limit_exceeded: 7,
  busy: 8,
  io_error: 9,
  corrupt_state: 9,
  unsupported: 10,
  internal: 70,
};

/** Exit code for a usage error found by the argument parser. */
export const USAGE_EXIT_CODE = 2;
