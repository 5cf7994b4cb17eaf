import { isIP } from "node:net";

/** A parsed CIDR: family, network as a number, prefix length. */
export interface Cidr {
  family: 4 | 6;
  network: bigint;
  prefix: number;
}

function toBigInt(address: string, family: 4 | 6): bigint {
  if (family === 4) return address.split(".").reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
  // Expand "::" to the missing zero groups, and an embedded IPv4 tail to two groups.
  let text = address;
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail) {
    const n = toBigInt(v4Tail[1]!, 4);
    text = `${text.slice(0, -v4Tail[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups];
  return groups.reduce((n, group) => (n << 16n) | BigInt(parseInt(group || "0", 16)), 0n);
}

/** Parse `ADDRESS/PREFIX` (or a bare address, a host route); null when it is not one. */
export function parseCidr(text: string): Cidr | null {
  const [address, prefixText, extra] = text.split("/");
  const family = isIP(address ?? "");
  if (extra !== undefined || (family !== 4 && family !== 6)) return null;
  const bits = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= bits)) return null;
  const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
  return { family, network: toBigInt(address!, family) & mask, prefix };
}

/** Whether `inner` lies within `outer` (same family, longer or equal prefix, same network bits). */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  const bits = outer.family === 4 ? 32 : 128;
  const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - outer.prefix)) - 1n);
  return (inner.network & mask) === outer.network;
}

/** `ADDRESS/PREFIX` of a parsed CIDR, its address in canonical form. */
export function cidrText(cidr: Cidr): string {
  if (cidr.family === 4) {
    const n = cidr.network;
    return `${[24n, 16n, 8n, 0n].map((shift) => (n >> shift) & 255n).join(".")}/${cidr.prefix}`;
  }
  const groups = Array.from({ length: 8 }, (_, i) => ((cidr.network >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups (two or more) to "::".
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === "0") j += 1;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const text = best.at < 0 ? groups.join(":") : `${groups.slice(0, best.at).join(":")}::${groups.slice(best.at + best.length).join(":")}`;
  return `${text}/${cidr.prefix}`;
}
