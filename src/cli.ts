#!/usr/bin/env node
// First: inside `node --build-snapshot` it watches what the other modules read as they initialise.
import "./cli-snapshot-guard.js";
import { startupSnapshot } from "node:v8";
import { runCli } from "./cli-run.js";
import { prepareSnapshot } from "./cli-snapshot.js";

// One bundle, two starts (docs/architecture.md, "Build"): run now, or become the startup snapshot whose main runs later.
if (startupSnapshot.isBuildingSnapshot()) prepareSnapshot();
else runCli(process.argv.slice(2));
