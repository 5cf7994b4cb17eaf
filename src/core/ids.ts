import { randomBytes } from "node:crypto";
import { PyroError } from "../util/errors.js";

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
      hint: `${what} ids look like ${prefix}-0123456789ab; list them to find yours`,
    });
  }
  return id;
}
