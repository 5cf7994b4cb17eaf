import { gzipSync } from "node:zlib";

/** One raw tar entry, as a hostile client could write it (no sanitising at all). */
export interface RawEntry {
  name: string;
  /** ustar type flag: "0" file, "1" hard link, "2" symlink, "3" char device, "5" directory. */
  type?: string;
  body?: Buffer | string;
  linkname?: string;
  /** Declared size, when it should differ from the body (a tar bomb header). */
  size?: number;
  mode?: number;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function header(entry: RawEntry, size: number): Buffer {
  const block = Buffer.alloc(512);
  block.write(entry.name, 0, 100, "utf8");
  block.write(octal(entry.mode ?? 0o644, 8), 100);
  block.write(octal(0, 8), 108);
  block.write(octal(0, 8), 116);
  block.write(octal(size, 12), 124);
  block.write(octal(Math.floor(Date.now() / 1000), 12), 136);
  block.write("        ", 148);
  block.write(entry.type ?? "0", 156);
  block.write(entry.linkname ?? "", 157, 100, "utf8");
  block.write("ustar\0", 257);
  block.write("00", 263);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return block;
}

/** A tar archive of raw entries, byte for byte. */
export function rawTar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? "");
    parts.push(header(entry, entry.size ?? body.length));
    if (body.length > 0) parts.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A gzipped tar with one file of `size` zero bytes: tiny on disk, huge when unpacked. */
export function gzipBomb(size: number): Buffer {
  return gzipSync(Buffer.concat([header({ name: "zeros.bin" }, size), Buffer.alloc(size), Buffer.alloc(1024)]), { level: 9 });
}
