import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PyroError } from "../../util/errors.js";

/** An image's `User` resolved against its own /etc/passwd and /etc/group. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups (from /etc/group). */
  groups: number[];
  /** The user's home directory from /etc/passwd, else `/`. */
  home: string;
}

/** A file of the image read on the host: `etc` must be a real directory and the file a regular one (never a symlink out of the rootfs). */
function readImageFile(rootfs: string, name: string): string {
  try {
    if (!lstatSync(join(rootfs, "etc")).isDirectory()) return "";
    const fd = openSync(join(rootfs, "etc", name), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const info = fstatSync(fd);
      if (!info.isFile() || info.size > 16 * 1024 * 1024) return "";
      return readFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}

function table(text: string): string[][] {
  return text.split("\n").filter((line) => line && !line.startsWith("#")).map((line) => line.split(":"));
}

const NUMBER = /^\d{1,10}$/;

/**
 * Resolve `User` (`name`, `uid`, `name:group`, `uid:gid`) the way container
 * runtimes do: names from the image's files; a numeric uid without an entry
 * runs with gid 0. Null for no user or root.
 */
export function resolveImageUser(rootfs: string, user: string | null, reference: string): ResolvedUser | null {
  if (!user || user === "root" || user === "0" || user === "0:0" || user === "root:root") return null;
  const [name = "", group] = user.split(":", 2);
  const passwd = table(readImageFile(rootfs, "passwd"));
  const groups = table(readImageFile(rootfs, "group"));
  const entry = passwd.find((fields) => (NUMBER.test(name) ? fields[2] === name : fields[0] === name));
  if (!entry && !NUMBER.test(name)) {
    throw new PyroError("failed_precondition", `image ${reference} sets User ${JSON.stringify(user)}, which its /etc/passwd does not have`, {
      hint: "use an image whose User exists in its /etc/passwd (or a numeric uid); nothing was installed",
    });
  }
  const uid = Number(entry ? entry[2] : name);
  let gid = entry ? Number(entry[3]) : 0;
  if (group !== undefined) {
    const groupEntry = groups.find((fields) => (NUMBER.test(group) ? fields[2] === group : fields[0] === group));
    if (!groupEntry && !NUMBER.test(group)) {
      throw new PyroError("failed_precondition", `image ${reference} sets User ${JSON.stringify(user)}, whose group its /etc/group does not have`, {
        hint: "use an image whose User's group exists in its /etc/group (or a numeric gid); nothing was installed",
      });
    }
    gid = Number(groupEntry ? groupEntry[2] : group);
  }
  const userName = entry?.[0];
  const supplementary = userName ? groups.filter((fields) => (fields[3] ?? "").split(",").includes(userName)).map((fields) => Number(fields[2])).filter(Number.isSafeInteger) : [];
  if (!Number.isSafeInteger(uid) || !Number.isSafeInteger(gid)) {
    throw new PyroError("failed_precondition", `image ${reference} sets User ${JSON.stringify(user)}, which pyro cannot resolve`, { hint: "nothing was installed" });
  }
  return { uid, gid, groups: [...new Set(supplementary)], home: entry?.[5] || "/" };
}
