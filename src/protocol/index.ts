export * from "./constants.js";
export * from "./errors.js";
export * from "./frame.js";
export * from "./decoder.js";
export * from "./sync.js";
export * from "./messages.js";
