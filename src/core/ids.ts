import { randomBytes } from "node:crypto";
import { PyroError } from "../util/errors.js";

/** VMs have no listing: the id is the one vm_create (or vm_run's result) returned. */
const NO_VM_HINT = "VM ids look like vm-0123456789ab, as vm_create returned it; a deleted or reaped VM is gone";
const ID_PATTERN = /^(vm|ws)-[0-9a-f]{12}$/;

/** A fresh id such as `vm-1a2b3c4d5e6f`. */
export function newId(prefix: "vm" | "ws"): string {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}

/**
 * Check an id from the outside before it touches a path: anything but the
 * exact shape is "not found", so `../x` can never name a directory.
 */
export function checkId(id: string, prefix: "vm" | "ws", what: string): string {
  if (!ID_PATTERN.test(id) || !id.startsWith(`${prefix}-`)) {
    throw new PyroError("not_found", `no ${what} with id ${JSON.stringify(id)}`, {
      hint: prefix === "ws" ? "workspace ids look like ws-0123456789ab; `pyro workspace list` shows yours" : NO_VM_HINT,
    });
  }
  return id;
}
