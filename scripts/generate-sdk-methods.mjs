// Kept for its name: renders every generated file (see scripts/generate.mjs).
await import("./generate.mjs");
