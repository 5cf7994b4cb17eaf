#!/usr/bin/env node
import { main } from "./cli/main.js";
import { serveMcpOverStdio } from "./mcp/index.js";

process.exitCode = await main(process.argv.slice(2), { serveMcp: serveMcpOverStdio });
