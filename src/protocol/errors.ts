import { PyroError } from "../util/errors.js";

/** Why a byte stream broke the protocol; the names used by `protocol/vectors/invalid.json`. */
export type ProtocolViolationReason = "frame_too_large" | "unknown_kind" | "bad_control" | "truncated";

/**
 * The peer sent bytes that are not a valid frame. The session is unusable
 * afterwards and must be closed.
 */
export class ProtocolViolation extends PyroError {
  readonly reason: ProtocolViolationReason;

  constructor(reason: ProtocolViolationReason, message: string) {
    super("guest_failure", `the guest agent broke the protocol: ${message}`, {
      hint: "the guest agent may be corrupt or from another pyro version; re-pull the environment (`pyro env pull`)",
      details: { reason },
    });
    this.reason = reason;
  }
}
