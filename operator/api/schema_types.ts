/**
 * TypeScript types derived from a structural OpenAPI v3 schema written
 * `as const`, so the CRD schema is the one source of truth for the
 * `JobWorkerPool` types.
 *
 * Only the subset of OpenAPI that jobpool's CRD uses is understood: `type`,
 * `properties`, `required`, `items`, `additionalProperties`, `enum`, `default`
 * and `x-kubernetes-int-or-string`.
 *
 * @module
 */

/** The part of a structural schema node that type derivation and defaulting read. */
export interface SchemaNode {
  /** The JSON type; unset for `x-kubernetes-int-or-string` nodes. */
  readonly type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  /** The fields of an object. */
  readonly properties?: { readonly [key: string]: SchemaNode };
  /** The fields of an object that must be set. */
  readonly required?: readonly string[];
  /** The schema of an array's items. */
  readonly items?: SchemaNode;
  /** The schema of a map's values, or whether unknown keys are allowed. */
  readonly additionalProperties?: SchemaNode | boolean;
  /** The allowed values. */
  readonly enum?: readonly unknown[];
  /** The value the API server fills in when the field is unset. */
  readonly default?: unknown;
  /** Accepts an integer or a string (e.g. a resource quantity). */
  readonly "x-kubernetes-int-or-string"?: boolean;
  /** Keeps fields the schema does not describe (free-form objects). */
  readonly "x-kubernetes-preserve-unknown-fields"?: boolean;
}

/** Flattens an intersection into one object type for readable hovers. */
type Simplify<T> = { [K in keyof T]: T[K] } & unknown;

/** Keys listed in `required`, plus (when `Defaulted`) keys whose schema has a `default`. */
type RequiredKeys<S, Defaulted extends boolean> =
  | (S extends { readonly required: readonly (infer R)[] } ? R : never)
  | (Defaulted extends true ? S extends { readonly properties: infer P } ? {
        [K in keyof P]: P[K] extends { readonly default: unknown } ? K : never;
      }[keyof P]
    : never
    : never);

type ObjectFrom<S, P, Defaulted extends boolean> = Simplify<
  & {
    -readonly [K in keyof P as K extends RequiredKeys<S, Defaulted> ? K : never]: FromSchema<
      P[K],
      Defaulted
    >;
  }
  & {
    -readonly [K in keyof P as K extends RequiredKeys<S, Defaulted> ? never : K]?: FromSchema<
      P[K],
      Defaulted
    >;
  }
>;

/**
 * The TypeScript type of values valid for schema `S`. With `Defaulted` set,
 * properties that have a `default` are required (the shape after the API
 * server, or {@linkcode applySchemaDefaults}, filled them in); without it they
 * are optional (the shape a person writes).
 */
export type FromSchema<S, Defaulted extends boolean = true> = S extends
  { readonly "x-kubernetes-int-or-string": true } ? string | number
  : S extends { readonly enum: readonly (infer E)[] } ? E
  : S extends { readonly type: "string" } ? string
  : S extends { readonly type: "integer" | "number" } ? number
  : S extends { readonly type: "boolean" } ? boolean
  : S extends { readonly type: "array"; readonly items: infer I } ? FromSchema<I, Defaulted>[]
  : S extends { readonly type: "object"; readonly properties: infer P }
    ? ObjectFrom<S, P, Defaulted>
  : S extends { readonly type: "object"; readonly additionalProperties: infer A extends SchemaNode }
    ? Record<string, FromSchema<A, Defaulted>>
  : unknown;

/**
 * Fills in the schema's `default`s the way the Kubernetes API server does:
 * an absent property with a default gets a copy of it, then defaulting
 * continues inside every present value (defaults included), through objects,
 * arrays and maps. Returns a new value; `value` is not changed.
 */
export function applySchemaDefaults(value: unknown, schema: SchemaNode): unknown {
  if (Array.isArray(value)) {
    const items = schema.items;
    return value.map((item) => items ? applySchemaDefaults(item, items) : structuredClone(item));
  }
  if (value === null || typeof value !== "object") return value;
  const input = value as Record<string, unknown>;
  const output: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(input)) {
    const childSchema = schema.properties?.[key] ??
      (typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined);
    output[key] = childSchema ? applySchemaDefaults(child, childSchema) : structuredClone(child);
  }
  for (const [key, childSchema] of Object.entries(schema.properties ?? {})) {
    if (output[key] === undefined && childSchema.default !== undefined) {
      output[key] = applySchemaDefaults(structuredClone(childSchema.default), childSchema);
    }
  }
  return output;
}
