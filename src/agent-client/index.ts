export { AgentClient, type ConnectOptions, type OpenStream, type StreamHandler } from "./client.js";
export type { AgentHello } from "./hello.js";
export type { ExecOptions, ExecResult } from "./exec.js";
export { agentError, sanitizeGuestText } from "./errors.js";
export { deadlineFor, deadlineMargin, DEFAULT_STALL_MS, type RequestBounds } from "./deadline.js";
export {
  applyGuestChanges,
  FILE_OPS_CAPABILITY,
  listGuestFiles,
  readGuestFile,
  writeGuestFile,
  type GuestFileChange,
  type GuestFileEntry,
  type GuestFileRead,
  type GuestFileWrite,
  type GuestListing,
} from "./files.js";
