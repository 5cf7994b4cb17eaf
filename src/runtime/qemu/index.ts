export { QemuBackend, type QemuBackendOptions, type QemuHandle } from "./backend.js";
export { buildQemuArgs, kernelCmdline, qemuBootArgs, USER_NET, type QemuArgsInput, type QemuMachine, type QemuAccel } from "./args.js";
export { decideAccel, type AccelDecision } from "./accel.js";
export { AGENT_PORT_COUNT, qemuLayout, type QemuLayout } from "./layout.js";
export { qmpCommand } from "./qmp.js";
export { findQemu, hostTscKhz } from "./host.js";
