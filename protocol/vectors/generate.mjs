// Regenerates frames.json, invalid.json and sync.json in this directory.
// The JSON files are the source of truth that the Go and TypeScript codec tests
// read; this script only saves typing hex by hand. It deliberately shares no
// code with either codec: a frame is 4 bytes of length, 1 of kind, 4 of stream.
//
//   node protocol/vectors/generate.mjs
import { Buffer } from "node:buffer";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const CONTROL = 1;
const STDIN = 2;
const STDOUT = 3;
const STDERR = 4;
const kindNames = { [CONTROL]: "control", [STDIN]: "stdin", [STDOUT]: "stdout", [STDERR]: "stderr" };

/** Raw frame bytes with an explicit length field (which may lie). */
function rawFrame(length, kind, stream, payload) {
  const header = Buffer.alloc(9);
  header.writeUInt32BE(length, 0);
  header.writeUInt8(kind, 4);
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
}

const frame = (kind, stream, payload) => rawFrame(payload.length, kind, stream, payload);

function controlCase(name, stream, jsonText) {
  const payload = Buffer.from(jsonText, "utf8");
  return { name, kind: "control", stream, json: JSON.parse(jsonText), json_text: jsonText, hex: frame(CONTROL, stream, payload).toString("hex") };
}

function dataCase(name, kind, stream, bytes) {
  const payload = Buffer.from(bytes);
  return { name, kind: kindNames[kind], stream, data_b64: payload.toString("base64"), hex: frame(kind, stream, payload).toString("hex") };
}

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

const frames = [
  controlCase("hello from host", 0, '{"op":"hello","protocol_version":1,"nonce":"00112233445566778899aabbccddeeff","client":"pyro-mcp/0.1.0"}'),
  controlCase(
    "hello from agent",
    0,
    '{"type":"hello","protocol_version":1,"agent_version":"0.1.0","nonce":"00112233445566778899aabbccddeeff","capabilities":["exec","exec.stdin","exec.pty","sync","shutdown"],"pid":1,"hostname":"pyro-vm"}',
  ),
  controlCase("ping on stream 0", 0, '{"op":"ping"}'),
  controlCase("empty result", 0, '{"type":"result"}'),
  controlCase(
    "exec request",
    1,
    '{"op":"exec","argv":["/bin/sh","-lc","git --version"],"cwd":"/workspace","env":{"K":"V"},"timeout_ms":30000,"max_output_bytes":1048576,"stdin":false,"pty":null}',
  ),
  controlCase("exec request with pty", 2, '{"op":"exec","argv":["/bin/bash"],"stdin":true,"pty":{"cols":120,"rows":30}}'),
  controlCase("started event", 1, '{"type":"event","event":"started","pid":4242}'),
  controlCase(
    "exec result",
    1,
    '{"type":"result","exit_code":0,"signal":null,"timed_out":false,"stdout_bytes":12,"stderr_bytes":0,"stdout_truncated":false,"stderr_truncated":false,"duration_ms":12}',
  ),
  controlCase(
    "exec result killed by timeout",
    7,
    '{"type":"result","exit_code":124,"signal":"KILL","timed_out":true,"stdout_bytes":2000000,"stderr_bytes":5,"stdout_truncated":true,"stderr_truncated":false,"duration_ms":30001}',
  ),
  controlCase("error", 3, '{"type":"error","code":"not_found","message":"no such file or directory: /nope"}'),
  controlCase("signal op", 1, '{"op":"signal","signal":"INT"}'),
  controlCase("resize op", 2, '{"op":"resize","cols":80,"rows":24}'),
  controlCase("unicode json", 5, '{"op":"exec","argv":["echo","héllo wörld ✓ 🚀","日本語"],"env":{"LANG":"C.UTF-8"}}'),
  controlCase("escaped json", 6, '{"op":"exec","argv":["printf","a\\tb\\n\\"q\\"\\u0000\\u00e9"]}'),
  controlCase("json with whitespace", 8, ' \n{ "op" : "ping" }\t'),
  controlCase("big stream id", 0xfffffffe, '{"op":"ping"}'),
  controlCase("max stream id", 0xffffffff, '{"type":"result"}'),
  dataCase("stdout text", STDOUT, 1, Buffer.from("git version 2.39.5\n")),
  dataCase("stderr text", STDERR, 1, Buffer.from("warning: something\n")),
  dataCase("stdin text", STDIN, 4, Buffer.from("hello\n")),
  dataCase("stdin eof", STDIN, 4, Buffer.alloc(0)),
  dataCase("stdout eof", STDOUT, 9, Buffer.alloc(0)),
  dataCase("stderr eof", STDERR, 9, Buffer.alloc(0)),
  dataCase("binary stdout, every byte value", STDOUT, 10, allBytes),
  dataCase("binary stdin, invalid utf-8", STDIN, 11, Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80])),
  dataCase("stdout on big stream id", STDOUT, 0x80000001, Buffer.from("x")),
  dataCase("stdout of 4096 bytes", STDOUT, 12, Buffer.alloc(4096, 0x61)),
];

const invalid = [
  { name: "length one above 1 MiB", hex: rawFrame(1048577, STDOUT, 1, Buffer.alloc(0)).toString("hex"), error: "frame_too_large" },
  { name: "length 0xffffffff", hex: rawFrame(0xffffffff, CONTROL, 0, Buffer.alloc(0)).toString("hex"), error: "frame_too_large" },
  { name: "kind 0", hex: frame(0, 1, Buffer.from("x")).toString("hex"), error: "unknown_kind" },
  { name: "kind 5", hex: frame(5, 1, Buffer.from("x")).toString("hex"), error: "unknown_kind" },
  { name: "kind 255", hex: frame(255, 1, Buffer.alloc(0)).toString("hex"), error: "unknown_kind" },
  { name: "control that is not json", hex: frame(CONTROL, 1, Buffer.from("op=exec")).toString("hex"), error: "bad_control" },
  { name: "control that is a json array", hex: frame(CONTROL, 1, Buffer.from('["op"]')).toString("hex"), error: "bad_control" },
  { name: "control that is a json string", hex: frame(CONTROL, 1, Buffer.from('"ping"')).toString("hex"), error: "bad_control" },
  { name: "control that is json null", hex: frame(CONTROL, 1, Buffer.from("null")).toString("hex"), error: "bad_control" },
  { name: "empty control", hex: frame(CONTROL, 1, Buffer.alloc(0)).toString("hex"), error: "bad_control" },
  { name: "control with trailing garbage", hex: frame(CONTROL, 1, Buffer.from('{"op":"ping"}x')).toString("hex"), error: "bad_control" },
  { name: "control with two objects", hex: frame(CONTROL, 1, Buffer.from('{"op":"ping"}{"op":"ping"}')).toString("hex"), error: "bad_control" },
  {
    name: "control with invalid utf-8",
    hex: frame(CONTROL, 1, Buffer.concat([Buffer.from('{"op":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])).toString("hex"),
    error: "bad_control",
  },
  { name: "truncated header", hex: "00000005030000", error: "truncated" },
  { name: "truncated payload", hex: rawFrame(10, STDOUT, 1, Buffer.from("abc")).toString("hex"), error: "truncated" },
  {
    name: "valid frame then truncated payload",
    hex: Buffer.concat([frame(STDOUT, 1, Buffer.from("ok")), rawFrame(4, STDERR, 1, Buffer.from("a"))]).toString("hex"),
    error: "truncated",
  },
];

function syncCase(name, garbage, framesAfter) {
  const bytes = Buffer.concat([garbage, Buffer.from("PYROSYNC"), ...framesAfter.map((f) => f.bytes)]);
  return { name, hex: bytes.toString("hex"), skipped: garbage.length, frames: framesAfter.map((f) => f.expect) };
}

function ctl(stream, jsonText) {
  return { bytes: frame(CONTROL, stream, Buffer.from(jsonText)), expect: { kind: "control", stream, json: JSON.parse(jsonText) } };
}

function data(kind, stream, bytes) {
  const b = Buffer.from(bytes);
  return { bytes: frame(kind, stream, b), expect: { kind: kindNames[kind], stream, data_b64: b.toString("base64") } };
}

const hostHello = '{"op":"hello","protocol_version":1,"nonce":"abcd","client":"test"}';
const sync = [
  syncCase("marker first, no garbage", Buffer.alloc(0), [ctl(0, hostHello)]),
  syncCase("marker alone", Buffer.alloc(0), []),
  syncCase("text garbage", Buffer.from("login: \r\nboot messages\n"), [ctl(0, hostHello), ctl(1, '{"op":"ping"}')]),
  syncCase("half a frame from a dead session", rawFrame(1000, STDIN, 3, Buffer.from("partial stdin of a dead session")), [ctl(0, hostHello)]),
  syncCase("partial markers before the real one", Buffer.from("PYROSYPYROPPYROSYNPYRO"), [ctl(0, hostHello), data(STDIN, 1, "in")]),
  syncCase("every byte value as garbage", allBytes, [ctl(0, hostHello), data(STDOUT, 2, Buffer.alloc(0))]),
  syncCase("lowercase marker is garbage", Buffer.from("pyrosync PYROSYN"), [ctl(0, hostHello)]),
];

const write = (file, value) => writeFileSync(join(here, file), JSON.stringify(value, null, 2) + "\n");
write("frames.json", frames);
write("invalid.json", invalid);
write("sync.json", sync);
