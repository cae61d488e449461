/**
 * The container settings that pass the `restricted` Pod Security Standard,
 * shared by the worker and the operator Deployments: non-root, no privilege
 * escalation, all capabilities dropped, seccomp `RuntimeDefault`, a read-only
 * root filesystem with a writable `/tmp`.
 *
 * @module
 */

import type { Size } from "cdk8s";
import type { Construct } from "constructs";
import * as kplus from "cdk8s-plus-28";

/** The container security context of every jobpool container. */
export const RESTRICTED_CONTAINER_SECURITY: kplus.ContainerSecurityContextProps = {
  ensureNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: [kplus.Capability.ALL] },
  seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
};

/** The name of the `/tmp` volume. */
export const TMP_VOLUME = "tmp";

/**
 * Mounts an emptyDir at `/tmp`, the only writable path under a read-only
 * root, limited to `sizeLimit` (a pod writing more is evicted).
 */
export function mountWritableTmp(
  scope: Construct,
  container: kplus.Container,
  sizeLimit?: Size,
): void {
  const volume = kplus.Volume.fromEmptyDir(
    scope,
    TMP_VOLUME,
    TMP_VOLUME,
    sizeLimit ? { sizeLimit } : {},
  );
  container.mount("/tmp", volume);
}
