/**
 * The `jobworkerpools.jobpool.dev` CustomResourceDefinition.
 *
 * @module
 */

import { jobWorkerPoolSchema } from "./schema.ts";
import { applySchemaDefaults, type SchemaNode } from "./schema_types.ts";
import {
  CRD_NAME,
  GROUP,
  KIND,
  LIST_KIND,
  PLURAL,
  SHORT_NAME,
  SINGULAR,
  VERSION,
} from "./types.ts";

/** An `apiextensions.k8s.io/v1` CustomResourceDefinition, as plain JSON. */
export interface CustomResourceDefinition {
  /** Always `apiextensions.k8s.io/v1`. */
  apiVersion: "apiextensions.k8s.io/v1";
  /** Always `CustomResourceDefinition`. */
  kind: "CustomResourceDefinition";
  /** The CRD's name (`<plural>.<group>`) and labels. */
  metadata: { name: string; labels?: Record<string, string> };
  /** Group, names, scope and the served versions with their schemas. */
  spec: {
    group: string;
    scope: "Namespaced" | "Cluster";
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: unknown };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: {
        name: string;
        type: string;
        jsonPath: string;
        description?: string;
        priority?: number;
      }[];
    }[];
  };
}

/**
 * The CRD: namespaced, short name `jwp`, status subresource, printer columns
 * Replicas, Lag, Ready and Age, with the schema of `schema.ts`. A new object
 * each call.
 */
export function jobWorkerPoolCrd(): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: CRD_NAME,
      labels: { "app.kubernetes.io/part-of": "jobpool" },
    },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: {
        kind: KIND,
        listKind: LIST_KIND,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [SHORT_NAME],
        categories: ["jobpool"],
      },
      versions: [{
        name: VERSION,
        served: true,
        storage: true,
        schema: { openAPIV3Schema: crdSchema() },
        subresources: { status: {} },
        additionalPrinterColumns: [
          {
            name: "Replicas",
            type: "integer",
            jsonPath: ".status.replicas",
            description: "Replicas of the worker Deployment",
          },
          {
            name: "Lag",
            type: "integer",
            jsonPath: ".status.lag",
            description: "Consumer group lag",
          },
          {
            name: "Ready",
            type: "string",
            jsonPath: '.status.conditions[?(@.type=="Ready")].status',
          },
          { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
        ],
      }],
    },
  };
}

/**
 * The schema as the CRD carries it. A JSON copy, not `structuredClone`: the
 * schema reuses sub-schemas, and shared references come out of YAML
 * serializers as anchors and aliases. Object defaults are completed with
 * their nested defaults (`default: {}` becomes `default: {min: 1, max: 10}`):
 * the API server validates a default, CEL rules included, without defaulting
 * inside it first, so `self.min <= self.max` would fail on `{}`.
 */
function crdSchema(): unknown {
  const schema = JSON.parse(JSON.stringify(jobWorkerPoolSchema)) as SchemaNode;
  completeObjectDefaults(schema);
  return schema;
}

function completeObjectDefaults(node: SchemaNode): void {
  const writable = node as { default?: unknown };
  if (node.type === "object" && node.properties && isPlainObject(node.default)) {
    writable.default = applySchemaDefaults(node.default, node);
  }
  for (const child of Object.values(node.properties ?? {})) completeObjectDefaults(child);
  if (node.items) completeObjectDefaults(node.items);
  if (typeof node.additionalProperties === "object") {
    completeObjectDefaults(node.additionalProperties);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
