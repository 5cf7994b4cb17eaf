import { describe, expect, it } from "vitest";
import { isImageName, parseImageReference } from "../../src/environments/index.js";

describe("image references", () => {
  it("reads Docker Hub shorthands, registries with ports, digests and the oci: prefix", () => {
    expect(parseImageReference("python:3.12-slim")).toMatchObject({ registry: "registry-1.docker.io", scheme: "https", repository: "library/python", reference: "3.12-slim", canonical: "docker.io/library/python:3.12-slim" });
    expect(parseImageReference("docker.io/library/alpine")).toMatchObject({ repository: "library/alpine", reference: "latest", canonical: "docker.io/library/alpine:latest" });
    expect(parseImageReference("bitnami/redis:7")).toMatchObject({ registry: "registry-1.docker.io", repository: "bitnami/redis" });
    expect(parseImageReference("registry.example:5000/team/py:3.12")).toMatchObject({ registry: "registry.example:5000", scheme: "https", repository: "team/py", reference: "3.12" });
    expect(parseImageReference("localhost:5000/x")).toMatchObject({ scheme: "http", registry: "localhost:5000" });
    expect(parseImageReference("127.0.0.1:5000/a/b:c")).toMatchObject({ scheme: "http" });
    expect(parseImageReference("registry.lan:5000/a", ["registry.lan:5000"])).toMatchObject({ scheme: "http" });
    const digest = `sha256:${"ab".repeat(32)}`;
    expect(parseImageReference(`ghcr.io/org/tool:1@${digest}`)).toMatchObject({ reference: digest, tag: "1", digest, canonical: `ghcr.io/org/tool:1@${digest}` });
    expect(parseImageReference(`oci:debian:12`)).toMatchObject({ canonical: "docker.io/library/debian:12" });
  });

  it("tells catalog names from images", () => {
    expect(isImageName("debian:12")).toBe(false);
    expect(isImageName("debian:12-build")).toBe(false);
    expect(isImageName("oci:debian:12")).toBe(true);
    expect(isImageName("python:3.12")).toBe(true);
    expect(() => isImageName("debian:13")).toThrow(/unknown environment/);
  });

  it("refuses bad syntax with the accepted form", () => {
    for (const bad of ["", "Upper/Case", "a b", "repo:", "repo@sha256:xyz", "https://r.example/x", "r.example:5000/", "-lead", "x:tag!"]) {
      expect(() => parseImageReference(bad), bad).toThrow(/not an image reference/);
    }
  });
});
