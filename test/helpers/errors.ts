import { expect } from "vitest";
import { PyroError } from "../../src/index.js";

/** Await a promise that must reject with a PyroError of `code`; returns the error for more checks. */
export async function expectPyroError(promise: Promise<unknown>, code: string): Promise<PyroError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a ${code} error`).toBeInstanceOf(PyroError);
  expect((error as PyroError).code).toBe(code);
  return error as PyroError;
}
