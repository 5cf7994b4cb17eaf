import { z } from "zod";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { OPERATION_EFFECTS, OPERATIONS, type OperationName } from "../contract/index.js";

type JsonSchema = Record<string, unknown>;

/** Whether a JSON schema node only ever accepts objects. */
function onlyObjects(node: unknown): boolean {
  if (node === null || typeof node !== "object") return false;
  const schema = node as JsonSchema;
  if (schema.type === "object") return true;
  const branches = (schema.oneOf ?? schema.anyOf) as unknown[] | undefined;
  return Array.isArray(branches) && branches.length > 0 && branches.every(onlyObjects);
}

/**
 * Give every union of objects an explicit `type: "object"`, and a union of
 * other simply typed branches the list of their types. zod writes a union
 * as a bare `oneOf`/`anyOf`, and generic clients (the MCP Inspector) decide
 * from `type` alone whether a field takes JSON.
 */
function typeObjectUnions(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(typeObjectUnions);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const schema = node as JsonSchema;
  if (schema.type === undefined && (schema.oneOf || schema.anyOf)) {
    if (onlyObjects(schema)) schema.type = "object";
    else {
      // A union of differently typed branches (secret_env: a list or an object) gets the list of its types.
      const types = ((schema.oneOf ?? schema.anyOf) as JsonSchema[]).map((branch) => branch.type);
      if (types.every((type) => typeof type === "string")) schema.type = [...new Set(types)];
    }
  }
  Object.values(schema).forEach(typeObjectUnions);
}

/** An operation's schema as JSON Schema (draft-07, what the MCP SDK itself emits), unions of objects typed. */
export function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const json = z.toJSONSchema(schema, { target: "draft-7", io }) as JsonSchema;
  typeObjectUnions(json);
  return json;
}

/** The MCP tool annotations of an operation, from its effect in the contract. */
export function annotationsOf(operation: OperationName): NonNullable<Tool["annotations"]> {
  const { effect, idempotent } = OPERATION_EFFECTS[operation];
  return {
    readOnlyHint: effect === "read",
    destructiveHint: effect === "destroy",
    idempotentHint: idempotent,
  };
}

/** An input schema without the fields a profile hides. */
function withoutFields(schema: JsonSchema, hidden: readonly string[]): JsonSchema {
  if (hidden.length === 0) return schema;
  const properties = Object.fromEntries(Object.entries((schema.properties ?? {}) as JsonSchema).filter(([key]) => !hidden.includes(key)));
  const required = ((schema.required ?? []) as string[]).filter((key) => !hidden.includes(key));
  return { ...schema, properties, ...(required.length > 0 ? { required } : { required: undefined }) };
}

/**
 * The `tools/list` entry of one operation: name, description (summary and
 * details), schemas, annotations; without the input fields in `hidden` (an
 * MCP profile's choice).
 */
export function toolDefinition(tool: string, operation: OperationName, hidden: readonly string[] = []): Tool {
  const spec = OPERATIONS[operation];
  return {
    name: tool,
    description: spec.details ? `${spec.summary}. ${spec.details}` : spec.summary,
    inputSchema: withoutFields(jsonSchema(spec.input, "input"), hidden) as Tool["inputSchema"],
    outputSchema: jsonSchema(spec.result, "output") as Tool["outputSchema"],
    annotations: annotationsOf(operation),
  };
}
