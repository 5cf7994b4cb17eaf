import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

/** One member of a hand-made tar layer. */
export interface TarMember {
  path: string;
  type?: "file" | "dir" | "symlink" | "link" | "char" | "fifo";
  data?: Buffer | string;
  mode?: number;
  uid?: number;
  gid?: number;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
  /** pax records to add (e.g. SCHILY.xattr.user.x). */
  pax?: Record<string, string>;
}

const TYPE_FLAGS = { file: "0", link: "1", symlink: "2", char: "3", dir: "5", fifo: "6" } as const;

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, "0") + "\0";
}

function header(name: string, flag: string, size: number, member: Partial<TarMember>): Buffer {
  const block = Buffer.alloc(512);
  block.write(name.slice(0, 100), 0, "utf8");
  block.write(octal(member.mode ?? (flag === "5" ? 0o755 : 0o644), 8), 100, "ascii");
  block.write(octal(member.uid ?? 0, 8), 108, "ascii");
  block.write(octal(member.gid ?? 0, 8), 116, "ascii");
  block.write(octal(size, 12), 124, "ascii");
  block.write(octal(1_700_000_000, 12), 136, "ascii");
  block.write("        ", 148, "ascii");
  block.write(flag, 156, "ascii");
  block.write((member.linkpath ?? "").slice(0, 100), 157, "utf8");
  block.write("ustar\0", 257, "ascii");
  block.write("00", 263, "ascii");
  block.write(octal(member.devmajor ?? 0, 8), 329, "ascii");
  block.write(octal(member.devminor ?? 0, 8), 337, "ascii");
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "ascii");
  return block;
}

function pad(data: Buffer): Buffer {
  const extra = (512 - (data.length % 512)) % 512;
  return extra ? Buffer.concat([data, Buffer.alloc(extra)]) : data;
}

function paxRecord(key: string, value: string): string {
  let length = key.length + value.length + 3;
  for (;;) {
    const line = `${length} ${key}=${value}\n`;
    if (Buffer.byteLength(line) === length) return line;
    length = Buffer.byteLength(line);
  }
}

/**
 * A plain tar archive of `members`, written byte by byte here (not with
 * pyro's code or GNU tar), so a test can put anything in a layer: whiteouts,
 * `..`, absolute paths, links out.
 */
export function tarOf(members: TarMember[]): Buffer {
  const parts: Buffer[] = [];
  for (const member of members) {
    const type = member.type ?? "file";
    const data = type === "file" ? Buffer.from(member.data ?? "") : Buffer.alloc(0);
    const pax: Record<string, string> = { ...member.pax };
    if (Buffer.byteLength(member.path) > 100) pax.path = member.path;
    if (member.linkpath && Buffer.byteLength(member.linkpath) > 100) pax.linkpath = member.linkpath;
    if (Object.keys(pax).length > 0) {
      const body = Buffer.from(Object.entries(pax).map(([k, v]) => paxRecord(k, v)).join(""));
      parts.push(header("PaxHeader", "x", body.length, {}), pad(body));
    }
    parts.push(header(member.path, TYPE_FLAGS[type], data.length, member), pad(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** `sha256:<hex>` of bytes. */
export function digestOf(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** A blob to push with its descriptor. */
export interface Blob {
  mediaType: string;
  bytes: Buffer;
  digest: string;
  size: number;
}

/** A gzip-compressed OCI layer of `members`. */
export function layerOf(members: TarMember[], compression: "gzip" | "none" = "gzip", mediaType?: string): Blob {
  const tar = tarOf(members);
  const bytes = compression === "gzip" ? gzipSync(tar) : tar;
  return {
    mediaType: mediaType ?? (compression === "gzip" ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar"),
    bytes,
    digest: digestOf(bytes),
    size: bytes.length,
  };
}

/** An OCI image config blob. */
export function configOf(options: { env?: string[]; workingDir?: string; user?: string; architecture?: string; layers: Blob[] }): Blob {
  const bytes = Buffer.from(
    JSON.stringify({
      architecture: options.architecture ?? "amd64",
      os: "linux",
      config: { Env: options.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], ...(options.workingDir ? { WorkingDir: options.workingDir } : {}), ...(options.user ? { User: options.user } : {}) },
      rootfs: { type: "layers", diff_ids: options.layers.map((layer) => layer.digest) },
    }),
  );
  return { mediaType: "application/vnd.oci.image.config.v1+json", bytes, digest: digestOf(bytes), size: bytes.length };
}

/** An OCI image manifest blob over `config` and `layers`. */
export function manifestOf(config: Blob, layers: Blob[]): Blob {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: layers.map((layer) => ({ mediaType: layer.mediaType, digest: layer.digest, size: layer.size })),
    }),
  );
  return { mediaType: "application/vnd.oci.image.manifest.v1+json", bytes, digest: digestOf(bytes), size: bytes.length };
}

/** An OCI image index over `entries` (manifest + platform). */
export function indexOf(entries: Array<{ manifest: Blob; architecture: string }>): Blob {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: entries.map(({ manifest, architecture }) => ({ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, platform: { os: "linux", architecture } })),
    }),
  );
  return { mediaType: "application/vnd.oci.image.index.v1+json", bytes, digest: digestOf(bytes), size: bytes.length };
}

/**
 * Push blobs and a manifest with the registry v2 API directly (POST an
 * upload, PUT it with its digest, PUT the manifest): the plain path any OCI
 * client takes, nothing of pyro's. `auth` is a basic `user:password`.
 */
export async function pushImage(host: string, repository: string, tag: string, blobs: Blob[], manifest: Blob, auth?: string): Promise<void> {
  const headers: Record<string, string> = auth ? { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } : {};
  for (const blob of blobs) {
    const head = await fetch(`http://${host}/v2/${repository}/blobs/${blob.digest}`, { method: "HEAD", headers });
    if (head.status === 200) continue;
    const start = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, { method: "POST", headers });
    if (start.status !== 202) throw new Error(`upload start: HTTP ${start.status}`);
    const location = new URL(start.headers.get("location") as string, `http://${host}`);
    location.searchParams.set("digest", blob.digest);
    const put = await fetch(location, { method: "PUT", headers: { ...headers, "content-type": "application/octet-stream" }, body: blob.bytes });
    if (put.status !== 201) throw new Error(`upload ${blob.digest}: HTTP ${put.status} ${await put.text()}`);
  }
  const put = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, { method: "PUT", headers: { ...headers, "content-type": manifest.mediaType }, body: manifest.bytes });
  if (put.status !== 201) throw new Error(`manifest ${repository}:${tag}: HTTP ${put.status} ${await put.text()}`);
}

/** The host's static busybox (busybox-static), the base of the test images. */
export const BUSYBOX = "/usr/bin/busybox";

/** Members of a tiny rootfs: busybox with applet links, /etc/passwd, and files the second layer changes. */
export function baseRootfs(): TarMember[] {
  const applets = ["sh", "ls", "cat", "echo", "env", "pwd", "id", "test", "mkdir", "rm", "sleep", "stat", "readlink", "true", "false", "printf", "wc", "touch", "cp", "mv", "find", "head", "tail", "grep", "sed", "tar", "sync", "uname", "hostname", "ln", "chmod", "sort", "date"];
  return [
    { path: "bin/", type: "dir" },
    { path: "bin/busybox", data: readFileSync(BUSYBOX), mode: 0o755 },
    ...applets.map((name): TarMember => ({ path: `bin/${name}`, type: "symlink", linkpath: "busybox" })),
    { path: "usr/", type: "dir" },
    { path: "usr/bin", type: "symlink", linkpath: "../bin" },
    { path: "etc/", type: "dir" },
    { path: "etc/passwd", data: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n" },
    { path: "etc/group", data: "root:x:0:\napp:x:1000:\n" },
    { path: "data/", type: "dir" },
    { path: "data/old.txt", data: "old\n" },
    { path: "data/keep.txt", data: "version 1\n" },
    { path: "data/dir/", type: "dir" },
    { path: "data/dir/a", data: "a\n" },
    { path: "data/dir/b", data: "b\n" },
    { path: "srv/app/", type: "dir" },
    { path: "srv/app/main.txt", data: "app\n" },
  ];
}

/** The second layer: deletes, replaces and adds through OCI whiteouts. */
export function changesLayer(): TarMember[] {
  return [
    { path: "data/.wh.old.txt" },
    { path: "data/keep.txt", data: "version 2\n" },
    { path: "data/dir/", type: "dir" },
    { path: "data/dir/.wh..wh..opq" },
    { path: "data/dir/c", data: "c\n" },
    { path: "data/link-to-keep", type: "link", linkpath: "data/keep.txt" },
    { path: "srv/app/added.txt", data: "added in layer 2\n", mode: 0o600, uid: 1000, gid: 1000 },
  ];
}

/** A gzip layer of `count` empty files (`many/<n>`), streamed: 10⁶ members are half a GB of tar. */
export async function manyFilesLayer(count: number): Promise<Blob> {
  const { createGzip } = await import("node:zlib");
  const gzip = createGzip({ level: 1 });
  const chunks: Buffer[] = [];
  gzip.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise((resolvePromise) => gzip.on("end", resolvePromise));
  const write = (buffer: Buffer) => new Promise<void>((resolvePromise) => (gzip.write(buffer) ? resolvePromise() : gzip.once("drain", () => resolvePromise())));
  await write(header("many/", "5", 0, { mode: 0o755 }));
  for (let start = 0; start < count; start += 10_000) {
    const batch: Buffer[] = [];
    for (let i = start; i < Math.min(count, start + 10_000); i++) batch.push(header(`many/${i}`, "0", 0, {}));
    await write(Buffer.concat(batch));
  }
  gzip.end(Buffer.alloc(1024));
  await done;
  const bytes = Buffer.concat(chunks);
  return { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", bytes, digest: digestOf(bytes), size: bytes.length };
}

/**
 * A gzip layer whose tar holds `members` and is followed by `zeros` bytes
 * of zeros inside the same gzip stream (a bomb that expands after the end
 * of the archive), or whose one file declares `zeros` bytes of content.
 */
export async function bombLayer(kind: "after-end" | "huge-file", zeros: number): Promise<Blob> {
  const { createGzip } = await import("node:zlib");
  const gzip = createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  gzip.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise((resolvePromise) => gzip.on("end", resolvePromise));
  const write = (buffer: Buffer) => new Promise<void>((resolvePromise) => (gzip.write(buffer) ? resolvePromise() : gzip.once("drain", () => resolvePromise())));
  if (kind === "after-end") await write(tarOf([{ path: "small.txt", data: "small\n" }]));
  else await write(header("huge.bin", "0", zeros, {}));
  const block = Buffer.alloc(1 << 20);
  for (let left = zeros; left > 0; left -= block.length) await write(left >= block.length ? block : block.subarray(0, left));
  gzip.end();
  await done;
  const bytes = Buffer.concat(chunks);
  return { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", bytes, digest: digestOf(bytes), size: bytes.length };
}
