import { describe, expect, it } from "vitest";
import { LIMITS, Pyro } from "../../src/index.js";
import { closestField } from "../../src/contract/strict.js";
import { expectPyroError } from "../helpers/errors.js";

// Validation happens before any state or cache is touched: these directories never exist.
const pyro = new Pyro({ stateDir: "/nonexistent-state", cacheDir: "/nonexistent-cache", warmSpares: false });
const ws = "ws-000000000000";

describe("operation inputs refuse unknown fields (issue 22)", () => {
  it("names the field and the closest valid one: `timeout` is not silently dropped for the 30 s default", async () => {
    const error = await expectPyroError(
      pyro.runInVm({ environment: "debian:12", command: "true", timeout: 5 } as never),
      "invalid_argument",
    );
    expect(error.message).toContain('unknown field "timeout" (did you mean "timeout_seconds"?)');
  });

  it("lists the valid fields when nothing is close", async () => {
    const error = await expectPyroError(pyro.statusWorkspace({ workspace_id: ws, verbose: true } as never), "invalid_argument");
    expect(error.message).toContain('unknown field "verbose"; valid fields: workspace_id');
  });

  it("refuses unknown fields inside nested objects too (readiness, published ports, secrets)", async () => {
    const readiness = await expectPyroError(
      pyro.startService({ workspace_id: ws, service_name: "web", command: "true", readiness: { kind: "tcp", adress: "127.0.0.1:80" } } as never),
      "invalid_argument",
    );
    expect(readiness.message).toContain('readiness: unknown field "adress" (did you mean "address"?)');
    const ports = await expectPyroError(
      pyro.startService({ workspace_id: ws, service_name: "web", command: "true", published_ports: [{ host_port: 8080, guest_port: 80, proto: "tcp" }] } as never),
      "invalid_argument",
    );
    expect(ports.message).toContain('published_ports.0: unknown field "proto"');
    const both = await expectPyroError(
      pyro.createWorkspace({ environment: "debian:12", secrets: [{ name: "TOKEN", value: "x", file_path: "/etc/hostname" }] } as never),
      "invalid_argument",
    );
    expect(both.message).toContain("secrets.0: a secret is {name, value} or {name, file_path}: unknown field");
    const typo = await expectPyroError(pyro.createWorkspace({ environment: "debian:12", secrets: [{ name: "TOKEN", valu: "x" }] } as never), "invalid_argument");
    expect(typo.message).toContain('unknown field "valu" (did you mean "value"?)');
  });

  it("finds the closest field by containment first, then by edit distance", () => {
    const fields = ["workspace_id", "command", "timeout_seconds", "secret_env"];
    expect(closestField("timeout", fields)).toBe("timeout_seconds");
    expect(closestField("timeout_secs", fields)).toBe("timeout_seconds");
    expect(closestField("comand", fields)).toBe("command");
    expect(closestField("secrets_env", fields)).toBe("secret_env");
    expect(closestField("verbose", fields)).toBeUndefined();
  });
});

describe("string limits the guest and the protocol can honour (issue 22)", () => {
  it("refuses a command over LIMITS.command_bytes with invalid_argument naming the limit", async () => {
    for (const command of ["x".repeat(LIMITS.command_bytes + 1), "x".repeat(2 * 1024 * 1024)]) {
      const error = await expectPyroError(pyro.runInVm({ environment: "debian:12", command }), "invalid_argument");
      expect(error.message).toContain(`command is longer than the limit of 64 KiB (${LIMITS.command_bytes} bytes)`);
    }
  });

  it("counts the limit in UTF-8 bytes: multi-byte text under the character count is still refused", async () => {
    const command = `echo ${"é".repeat(LIMITS.command_bytes / 2)}`;
    expect(command.length).toBeLessThan(LIMITS.command_bytes);
    const error = await expectPyroError(pyro.execWorkspace({ workspace_id: ws, command }), "invalid_argument");
    expect(error.message).toContain(`${LIMITS.command_bytes} bytes`);
  });

  it("bounds the other command-taking fields, shell input and secret values the same way", async () => {
    const long = "x".repeat(LIMITS.command_bytes + 1);
    const checks: Array<[Promise<unknown>, string]> = [
      [pyro.execVm({ vm_id: "vm-000000000000", command: long }), "command"],
      [pyro.startService({ workspace_id: ws, service_name: "web", command: long }), "command"],
      [pyro.startService({ workspace_id: ws, service_name: "web", command: "true", readiness: { kind: "command", command: long } }), "readiness.command"],
      [pyro.writeShell({ workspace_id: ws, shell_id: "sh-1", input: "x".repeat(LIMITS.shell_input_bytes + 1) }), "input"],
      [pyro.createWorkspace({ environment: "debian:12", secrets: [{ name: "BIG", value: "x".repeat(LIMITS.secret_value_bytes + 1) }] }), "secrets.0.value"],
    ];
    for (const [call, field] of checks) {
      const error = await expectPyroError(call, "invalid_argument");
      expect(error.message, field).toContain(`${field}: `);
      expect(error.message, field).toMatch(/65536 bytes/);
    }
  });
});
