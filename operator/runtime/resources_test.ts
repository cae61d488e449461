import assert from "node:assert/strict";
import { isResourceNotServed, KubeApiError } from "./kube_client.ts";
import {
  apiVersionOf,
  objectKey,
  resourcePath,
  RESOURCES,
  resourceTypeOf,
  splitKey,
} from "./resources.ts";

Deno.test("resourcePath builds core, group, namespaced and subresource paths", () => {
  assert.equal(resourcePath(RESOURCES.namespaces, { name: "a" }), "/api/v1/namespaces/a");
  assert.equal(
    resourcePath(RESOURCES.deployments, { namespace: "ns", name: "w", subresource: "status" }),
    "/apis/apps/v1/namespaces/ns/deployments/w/status",
  );
  assert.equal(resourcePath(RESOURCES.scaledObjects), "/apis/keda.sh/v1alpha1/scaledobjects");
  assert.equal(apiVersionOf(RESOURCES.events), "v1");
});

Deno.test("keys and kinds", () => {
  assert.equal(objectKey({ metadata: { namespace: "ns", name: "a" } }), "ns/a");
  assert.deepEqual(splitKey("ns/a"), { namespace: "ns", name: "a" });
  assert.deepEqual(splitKey("a"), { namespace: "", name: "a" });
  const known = [RESOURCES.kafkaTopicsV1, RESOURCES.kafkaTopicsV1beta2];
  assert.equal(
    resourceTypeOf({ apiVersion: "kafka.strimzi.io/v1beta2", kind: "KafkaTopic" }, known),
    RESOURCES.kafkaTopicsV1beta2,
  );
  assert.equal(resourceTypeOf({ apiVersion: "v1", kind: "Pod" }, known), undefined);
});

Deno.test("isResourceNotServed tells a missing type from a missing object", () => {
  const notServed = new KubeApiError("x", { code: 404, reason: "NotFound", details: {} });
  const noObject = new KubeApiError("x", {
    code: 404,
    reason: "NotFound",
    details: { name: "a", kind: "deployments" },
  });
  assert.equal(isResourceNotServed(notServed), true);
  assert.equal(isResourceNotServed(noObject), false);
  assert.equal(isResourceNotServed(new KubeApiError("x", { code: 403 })), false);
});
