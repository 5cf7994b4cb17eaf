import { Writable } from "node:stream";

/** One tar member's header, with pax and GNU long-name extensions applied. */
export interface TarHeader {
  path: string;
  /** `file`, `link` (hard), `symlink`, `char`, `block`, `dir`, `fifo`. */
  type: "file" | "link" | "symlink" | "char" | "block" | "dir" | "fifo";
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkpath: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from pax `SCHILY.xattr.*` / `LIBARCHIVE.xattr.*` records. */
  xattrs: Map<string, Buffer>;
}

/** What receives a member's data; `end` is called after the last byte (also for empty members). */
export interface TarSink {
  data(chunk: Buffer): void;
  end(): void;
}

/** Thrown for archives that are not well-formed tar. */
export class TarFormatError extends Error {}

const BLOCK = 512;
/** Largest pax or GNU long-name member read into memory. */
const MAX_META = 1024 * 1024;

function text(block: Buffer, offset: number, length: number): string {
  const slice = block.subarray(offset, offset + length);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul < 0 ? length : nul).toString("utf8");
}

function number(block: Buffer, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    // base-256 (GNU): big-endian, first byte's high bit a flag; negatives are refused.
    if (((field[0] ?? 0) & 0x40) !== 0) throw new TarFormatError("negative number in tar header");
    let value = (field[0] ?? 0) & 0x3f;
    for (let i = 1; i < length; i++) value = value * 256 + (field[i] ?? 0);
    if (!Number.isSafeInteger(value)) throw new TarFormatError("number in tar header too large");
    return value;
  }
  const raw = text(block, offset, length).replace(/[\s\0]+$/, "").trim();
  if (raw === "") return 0;
  if (!/^[0-7]+$/.test(raw)) throw new TarFormatError(`bad octal field ${JSON.stringify(raw)} in tar header`);
  return parseInt(raw, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = number(block, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (block[i] as number);
  return sum === stored;
}

function parsePax(data: Buffer, into: Map<string, Buffer>): void {
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(32, pos);
    if (space < 0) throw new TarFormatError("malformed pax record");
    const length = Number(data.subarray(pos, space).toString("ascii"));
    if (!Number.isSafeInteger(length) || length <= space - pos || pos + length > data.length) throw new TarFormatError("malformed pax record length");
    const record = data.subarray(space + 1, pos + length - 1);
    const eq = record.indexOf(61);
    if (eq < 0) throw new TarFormatError("malformed pax record");
    into.set(record.subarray(0, eq).toString("utf8"), Buffer.from(record.subarray(eq + 1)));
    pos += length;
  }
}

const TYPES: Record<string, TarHeader["type"]> = { "0": "file", "\0": "file", "7": "file", "1": "link", "2": "symlink", "3": "char", "4": "block", "5": "dir", "6": "fifo" };

/**
 * A Writable that parses a tar stream (ustar, pax, GNU long names) and calls
 * `onEntry` synchronously for each member; the sink it returns gets the
 * member's bytes. Stops at the end-of-archive marker (`onEnd`); what follows
 * is not read. `onBytes` sees every byte consumed (for caps).
 */
export class TarStream extends Writable {
  private buffer: Buffer = Buffer.alloc(0);
  private state: "header" | "data" | "meta" | "pad" | "done" = "header";
  private remaining = 0;
  private padding = 0;
  private sink: TarSink | null = null;
  private metaKind = "";
  private metaChunks: Buffer[] = [];
  private pax = new Map<string, Buffer>();
  private globalPax = new Map<string, Buffer>();
  private longName: string | null = null;
  private longLink: string | null = null;
  private zeroBlocks = 0;

  constructor(
    private readonly onEntry: (header: TarHeader) => TarSink,
    private readonly onEnd: () => void,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      this.consume(chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.state === "done") return callback();
    // Some writers omit the end marker: a clean member boundary is accepted, a cut member is not.
    if (this.state !== "header" || this.buffer.length > 0) return callback(new TarFormatError("the layer ends in the middle of a tar member"));
    this.state = "done";
    this.onEnd();
    callback();
  }

  /** Whether the end-of-archive marker was seen. */
  get finished(): boolean {
    return this.state === "done";
  }

  private consume(input: Buffer): void {
    let chunk = this.buffer.length > 0 ? Buffer.concat([this.buffer, input]) : input;
    this.buffer = Buffer.alloc(0);
    while (chunk.length > 0 && this.state !== "done") {
      if (this.state === "data" || this.state === "meta") {
        const take = Math.min(this.remaining, chunk.length);
        const part = chunk.subarray(0, take);
        if (this.state === "data") this.sink?.data(part);
        else if (this.metaKind !== "skip") this.metaChunks.push(Buffer.from(part));
        this.remaining -= take;
        chunk = chunk.subarray(take);
        if (this.remaining === 0) this.finishMember();
        continue;
      }
      if (this.state === "pad") {
        const take = Math.min(this.padding, chunk.length);
        this.padding -= take;
        chunk = chunk.subarray(take);
        if (this.padding === 0) this.state = "header";
        continue;
      }
      if (chunk.length < BLOCK) {
        this.buffer = Buffer.from(chunk);
        return;
      }
      const block = chunk.subarray(0, BLOCK);
      chunk = chunk.subarray(BLOCK);
      this.header(block);
    }
  }

  private finishMember(): void {
    if (this.state === "data") {
      this.sink?.end();
      this.sink = null;
    } else {
      const data = Buffer.concat(this.metaChunks);
      this.metaChunks = [];
      if (this.metaKind === "x") parsePax(data, this.pax);
      else if (this.metaKind === "g") parsePax(data, this.globalPax);
      else if (this.metaKind === "L") this.longName = text(data, 0, data.length);
      else if (this.metaKind === "K") this.longLink = text(data, 0, data.length);
      // Extension headers without a member in between would pile up: bound what one member carries.
      for (const records of [this.pax, this.globalPax]) {
        let bytes = 0;
        for (const [key, value] of records) bytes += key.length + value.length;
        if (bytes > MAX_META) throw new TarFormatError(`more than ${MAX_META} bytes of pax records for one member`);
      }
    }
    this.state = this.padding > 0 ? "pad" : "header";
  }

  private header(block: Buffer): void {
    if (block.every((byte) => byte === 0)) {
      if (++this.zeroBlocks >= 2) {
        this.state = "done";
        this.onEnd();
      }
      return;
    }
    if (this.zeroBlocks > 0) throw new TarFormatError("a zero block in the middle of the archive");
    if (!checksumOk(block)) throw new TarFormatError("tar header checksum mismatch (not a tar layer, or a corrupt one)");
    const flag = String.fromCharCode(block[156] as number);
    const size = number(block, 124, 12);
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
      if (size > MAX_META) throw new TarFormatError(`tar extension header of ${size} bytes`);
      this.metaKind = flag;
      this.remaining = size;
      this.state = "meta";
      if (size === 0) this.finishMember();
      return;
    }
    const type = TYPES[flag];
    if (!type) throw new TarFormatError(`unsupported tar member type ${JSON.stringify(flag)} (sparse files, volume labels and the like are not unpacked)`);
    const pax = new Map([...this.globalPax, ...this.pax]);
    this.pax = new Map();
    if ([...pax.keys()].some((key) => key.startsWith("GNU.sparse"))) throw new TarFormatError("sparse tar members are not supported");
    const magic = text(block, 257, 6);
    const prefix = magic.startsWith("ustar") ? text(block, 345, 155) : "";
    let path = this.longName ?? (prefix ? `${prefix}/${text(block, 0, 100)}` : text(block, 0, 100));
    let linkpath = this.longLink ?? text(block, 157, 100);
    this.longName = null;
    this.longLink = null;
    const paxText = (key: string) => pax.get(key)?.toString("utf8");
    path = paxText("path") ?? path;
    linkpath = paxText("linkpath") ?? linkpath;
    const paxSize = paxText("size");
    const realSize = paxSize !== undefined ? Number(paxSize) : size;
    if (!Number.isSafeInteger(realSize) || realSize < 0) throw new TarFormatError("bad size in pax header");
    const xattrs = new Map<string, Buffer>();
    for (const [key, value] of pax) {
      if (key.startsWith("SCHILY.xattr.")) xattrs.set(key.slice("SCHILY.xattr.".length), value);
      else if (key.startsWith("LIBARCHIVE.xattr.")) xattrs.set(decodeURIComponent(key.slice("LIBARCHIVE.xattr.".length)), Buffer.from(value.toString("ascii"), "base64"));
    }
    const dataSize = type === "file" ? realSize : 0;
    const header: TarHeader = {
      path,
      type,
      mode: number(block, 100, 8) & 0o7777,
      uid: Number(paxText("uid") ?? number(block, 108, 8)),
      gid: Number(paxText("gid") ?? number(block, 116, 8)),
      size: dataSize,
      mtime: Number(paxText("mtime") ?? number(block, 136, 12)),
      linkpath,
      devmajor: number(block, 329, 8),
      devminor: number(block, 337, 8),
      xattrs,
    };
    // Members other than files carry no data here, but a header may still declare a size: skip it.
    const skip = type === "file" ? 0 : realSize;
    this.sink = this.onEntry(header);
    this.remaining = dataSize + skip;
    this.padding = (BLOCK - (this.remaining % BLOCK)) % BLOCK;
    if (skip > 0) {
      this.sink.end();
      this.sink = null;
      this.state = "meta";
      this.metaKind = "skip";
      return;
    }
    this.state = "data";
    if (this.remaining === 0) this.finishMember();
  }
}
