/**
 * The pool's pod-level settings, written into the synthesized worker
 * Deployment's pod template as Kubernetes takes them: scheduling
 * (`nodeSelector`, `tolerations`, `affinity`, `topologySpreadConstraints`,
 * `priorityClassName`), `imagePullSecrets`, `serviceAccountName`, extra labels
 * and annotations, the user and groups, and the size of `/tmp`. cdk8s-plus
 * models scheduling its own way, so these are set on the JSON instead.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import type { Manifest } from "../runtime/object.ts";
import { selectorLabels } from "./names.ts";
import { TMP_VOLUME } from "./restricted.ts";

/** The pod template fields this module writes. */
interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown> & {
    securityContext?: Record<string, unknown>;
    volumes?: Array<{ name: string; emptyDir?: Record<string, unknown> }>;
  };
}

/** Writes the pool's pod settings into `deployment` (synthesized JSON), in place. */
export function finishWorkerPod(deployment: Manifest, pool: JobWorkerPool): void {
  const { spec } = pool;
  const template = (deployment["spec"] as { template: PodTemplate }).template;
  const metadata = template.metadata ??= {};
  // The operator's labels win: the selector depends on them.
  metadata.labels = { ...spec.podLabels, ...metadata.labels };
  if (spec.podAnnotations && Object.keys(spec.podAnnotations).length > 0) {
    metadata.annotations = { ...metadata.annotations, ...spec.podAnnotations };
  }
  const pod = template.spec;
  const set = (field: string, value: unknown) => {
    if (value !== undefined) pod[field] = structuredClone(value);
  };
  set("serviceAccountName", spec.serviceAccountName);
  set("imagePullSecrets", spec.imagePullSecrets);
  set("priorityClassName", spec.priorityClassName);
  set("nodeSelector", spec.nodeSelector);
  set("tolerations", spec.tolerations);
  set("affinity", spec.affinity);
  set(
    "topologySpreadConstraints",
    spec.topologySpreadConstraints?.map((constraint) => ({
      ...constraint,
      labelSelector: constraint.labelSelector ?? { matchLabels: selectorLabels(pool) },
    })),
  );
  const { runAsUser, runAsGroup, fsGroup } = spec.podSecurityContext;
  pod.securityContext = {
    ...pod.securityContext,
    runAsUser,
    runAsGroup,
    ...(fsGroup !== undefined ? { fsGroup } : {}),
  };
  const tmp = pod.volumes?.find((volume) => volume.name === TMP_VOLUME);
  if (!tmp?.emptyDir) throw new Error("The /tmp volume is missing: this is a jobpool bug");
  tmp.emptyDir.sizeLimit = spec.tmpSizeLimit;
}
