/** The Firecracker backend: public entry points for the runtime layer. */
export { FirecrackerBackend, tapDeviceName, type FirecrackerBackendOptions, type FirecrackerHandle } from "./backend.js";
export { FirecrackerApiClient, API_OPERATIONS, faultMessage } from "./api-client.js";
export { connectVsock, type VsockConnectOptions } from "./vsock.js";
export { checkFirecrackerAvailability } from "./availability.js";
export { AGENT_VSOCK_PORT, GUEST_CID } from "./constants.js";
export type * from "./api-types.js";
