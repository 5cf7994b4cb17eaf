import { describe, expect, it } from "vitest";
import { API_OPERATIONS } from "../../src/runtime/firecracker/api-client.js";
import { loadSpec, matchOperation, validate, validateRequest } from "./fixtures/spec-validator.mjs";

const spec = loadSpec();

describe("the official Firecracker API spec", () => {
  it("is the v1.16.1 Swagger document", () => {
    expect(spec.swagger).toBe("2.0");
    expect(spec.info.version).toBe("1.16.1");
  });

  it.each(API_OPERATIONS.map(([m, p]) => [m, p]))("holds %s %s, an operation our client calls", (method, template) => {
    const match = matchOperation(spec, method, template.replace(/\{[^}]+\}/g, "x"));
    expect(match?.template).toBe(template);
    expect(match?.operation, `${method} ${template} missing from the spec`).toBeDefined();
  });
});

describe("the test validator can fail", () => {
  it("rejects a body missing a required field", () => {
    const r = validateRequest(spec, "PUT", "/machine-config", JSON.stringify({ vcpu_count: 1 }));
    expect(r.errors).toEqual(["body: missing required field `mem_size_mib`"]);
  });

  it("rejects wrong types, enum values, bounds and unknown fields", () => {
    const drive = validateRequest(spec, "PUT", "/drives/root", JSON.stringify({ drive_id: "root", is_root_device: "yes", cache_type: "Fast" }));
    expect(drive.errors).toContain("body.is_root_device: expected boolean");
    expect(drive.errors.some((e) => e.startsWith("body.cache_type:"))).toBe(true);
    const machine = validateRequest(spec, "PUT", "/machine-config", JSON.stringify({ vcpu_count: 0, mem_size_mib: 1.5 }));
    expect(machine.errors).toEqual(["body.vcpu_count: 0 < minimum 1", "body.mem_size_mib: expected integer"]);
    const vsock = validateRequest(spec, "PUT", "/vsock", JSON.stringify({ guest_cid: 3, uds_path: "/v.sock", udsPath: "/x" }));
    expect(vsock.errors).toEqual(["body: unknown field `udsPath`"]);
    const action = validateRequest(spec, "PUT", "/actions", JSON.stringify({ action_type: "Reboot" }));
    expect(action.errors[0]).toMatch(/not in/);
  });

  it("rejects unknown paths, wrong methods, missing and non-JSON bodies", () => {
    expect(validateRequest(spec, "PUT", "/nope", "{}").errors[0]).toMatch(/no path/);
    expect(validateRequest(spec, "DELETE", "/vsock", "").errors[0]).toMatch(/not allowed/);
    expect(validateRequest(spec, "PUT", "/boot-source", "").errors).toEqual(["missing request body"]);
    expect(validateRequest(spec, "PUT", "/boot-source", "{oops").errors[0]).toMatch(/not JSON/);
  });

  it("follows $refs into nested definitions", () => {
    const body = { drive_id: "d", is_root_device: false, rate_limiter: { bandwidth: { size: "big", refill_time: 1 } } };
    expect(validate(spec, { $ref: "#/definitions/Drive" }, body)).toEqual(["body.rate_limiter.bandwidth.size: expected integer"]);
  });

  it("accepts a valid body", () => {
    const r = validateRequest(spec, "PUT", "/boot-source", JSON.stringify({ kernel_image_path: "/k", boot_args: "console=ttyS0" }));
    expect(r.errors).toEqual([]);
    expect(r.template).toBe("/boot-source");
  });
});
