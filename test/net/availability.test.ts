import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

import { networkSupport, networkSupportOn } from "../../src/net/availability.js";

const support = async (env: NodeJS.ProcessEnv): Promise<string> => networkSupportOn(env);

describe("networkSupport (doctor's network line, asked by every backend's availability)", () => {
  it("agrees with the shell's `command -v` about slirp4netns, nft and ip, without spawning one", async () => {
    const shell = ["slirp4netns", "nft", "ip"].filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
    const answer = await support(process.env);
    expect(networkSupport()).toBe(answer);
    if (shell.length === 0) expect(answer).toMatch(/^off, egress/);
    else expect(answer).toBe(`off only: missing ${shell.join(", ")} (apt-get install slirp4netns nftables iproute2)`);
  });

  it("names what a PATH lacks", async () => {
    expect(await support({ PATH: "/nonexistent" })).toBe("off only: missing slirp4netns, nft, ip (apt-get install slirp4netns nftables iproute2)");
  });
});
