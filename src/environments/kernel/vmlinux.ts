/**
 * Extract the uncompressed ELF `vmlinux` from an x86 bzImage, for VMMs that
 * cannot boot a bzImage (Firecracker). The setup header says where the
 * compressed payload lies; Debian's cloud kernel compresses it with LZ4
 * (legacy frame), which this decodes. Other codecs yield `undefined`.
 */
export function extractVmlinux(bzImage: Buffer): Buffer | undefined {
  if (bzImage.length < 0x250 || bzImage.toString("latin1", 0x202, 0x206) !== "HdrS") return undefined;
  const setupSects = bzImage[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + bzImage.readUInt32LE(0x248);
  const length = bzImage.readUInt32LE(0x24c);
  if (start + length > bzImage.length || length < 8) return undefined;
  const payload = bzImage.subarray(start, start + length);
  if (payload.readUInt32LE(0) !== LZ4_LEGACY_MAGIC) return undefined;
  const size = payload.readUInt32LE(payload.length - 4);
  const out = decodeLz4Legacy(payload.subarray(0, payload.length - 4), size);
  if (out.length < 4 || out.readUInt32BE(0) !== 0x7f454c46) return undefined;
  return out;
}

const LZ4_LEGACY_MAGIC = 0x184c2102;

/** Decode an LZ4 legacy-frame stream (magic, then size-prefixed blocks) of known total size. */
export function decodeLz4Legacy(src: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size);
  let op = 0;
  let ip = 0;
  while (ip + 4 <= src.length) {
    const word = src.readUInt32LE(ip);
    ip += 4;
    if (word === LZ4_LEGACY_MAGIC) continue;
    if (ip + word > src.length) throw new Error("lz4: truncated block");
    op = decodeLz4Block(src, ip, ip + word, out, op);
    ip += word;
  }
  if (op !== size) throw new Error(`lz4: decoded ${op} bytes, expected ${size}`);
  return out;
}

function decodeLz4Block(src: Buffer, ip: number, end: number, out: Buffer, op: number): number {
  while (ip < end) {
    const token = src[ip++]!;
    let literals = token >> 4;
    if (literals === 15) {
      let b: number;
      do {
        b = src[ip++]!;
        literals += b;
      } while (b === 255);
    }
    if (op + literals > out.length || ip + literals > end) throw new Error("lz4: literal overrun");
    src.copy(out, op, ip, ip + literals);
    ip += literals;
    op += literals;
    if (ip >= end) break;
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    let match = token & 15;
    if (match === 15) {
      let b: number;
      do {
        b = src[ip++]!;
        match += b;
      } while (b === 255);
    }
    match += 4;
    if (offset === 0 || offset > op || op + match > out.length) throw new Error("lz4: bad match");
    if (offset >= match) {
      out.copy(out, op, op - offset, op - offset + match);
      op += match;
    } else {
      for (let i = 0; i < match; i++, op++) out[op] = out[op - offset]!;
    }
  }
  return op;
}
