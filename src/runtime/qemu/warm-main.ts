/**
 * Entry of the detached warm-up process of a parked machine (warm.ts):
 * `node warm-main.js DIR PID [PID_START_TIME]`. Started by QemuParking.park,
 * so a one-shot CLI that parked a machine exits without waiting for it.
 */
import { warmParked } from "./warm.js";

const [dir, pid, startTime] = process.argv.slice(2);
if (dir && pid) await warmParked(dir, Number(pid), startTime || undefined);
