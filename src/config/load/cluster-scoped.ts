import { apiGroup } from './api-group.js';

/**
 * Kinds that live outside namespaces, as `group/Kind` (core group is empty: `/Namespace`).
 * The loader gives them namespace `""`; every other kind is namespaced and defaults to `"default"`.
 *
 * Kept small on purpose: the kinds legate reads, plus the cluster-scoped kinds most often found
 * next to them in a manifest bundle (so a ClusterRole in a Helm output does not get "default").
 * - Gateway API: GatewayClass
 * - core: Namespace, Node, PersistentVolume
 * - rbac.authorization.k8s.io: ClusterRole, ClusterRoleBinding
 * - apiextensions.k8s.io: CustomResourceDefinition
 * - admissionregistration.k8s.io: ValidatingWebhookConfiguration, MutatingWebhookConfiguration,
 *   ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding
 * - storage.k8s.io: StorageClass, CSIDriver; scheduling.k8s.io: PriorityClass;
 *   networking.k8s.io: IngressClass; node.k8s.io: RuntimeClass; apiregistration.k8s.io: APIService
 */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'gateway.networking.k8s.io/GatewayClass',
  '/Namespace',
  '/Node',
  '/PersistentVolume',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
  'storage.k8s.io/StorageClass',
  'storage.k8s.io/CSIDriver',
  'scheduling.k8s.io/PriorityClass',
  'networking.k8s.io/IngressClass',
  'node.k8s.io/RuntimeClass',
  'apiregistration.k8s.io/APIService',
]);

/** Whether objects of this apiVersion/kind are cluster-scoped (see CLUSTER_SCOPED_KINDS). */
export function isClusterScoped(apiVersion: string, kind: string): boolean {
  return CLUSTER_SCOPED_KINDS.has(`${apiGroup(apiVersion)}/${kind}`);
}
