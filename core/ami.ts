/**
 * Which AMI family an instance type needs. The default AMI is the Deep Learning Base GPU AMI with
 * NVIDIA's open-source kernel modules (x86_64), which drive Turing and newer GPUs only; the DLAMI
 * release notes list its supported instances
 * (https://docs.aws.amazon.com/dlami/latest/devguide/appendix-ami-release-notes.html), and NVIDIA's
 * open kernel modules need Turing or later (https://github.com/NVIDIA/open-gpu-kernel-modules#supported-gpus).
 */

/** Families the default AMI cannot serve, and why. */
const UNSUPPORTED_BY_DEFAULT_AMI: Record<string, string> = {
  p3: "its V100 (Volta) GPUs need NVIDIA's proprietary driver; the default AMI ships the open kernel modules (Turing and newer)",
  p3dn: "its V100 (Volta) GPUs need NVIDIA's proprietary driver; the default AMI ships the open kernel modules (Turing and newer)",
  trn1: "Trainium needs a Neuron AMI (the Neuron DLAMI), not an NVIDIA one",
  trn1n: "Trainium needs a Neuron AMI (the Neuron DLAMI), not an NVIDIA one",
  trn2: "Trainium needs a Neuron AMI (the Neuron DLAMI), not an NVIDIA one",
  inf1: "Inferentia needs a Neuron AMI (the Neuron DLAMI), not an NVIDIA one",
  inf2: "Inferentia needs a Neuron AMI (the Neuron DLAMI), not an NVIDIA one",
  g4ad: "its AMD Radeon GPUs have no NVIDIA driver",
  g5g: "it is arm64 (Graviton); the default AMI is x86_64",
};

/**
 * Why the default AMI cannot run `instanceType`, or undefined. An explicit `instance.ami` or
 * `instance.amiParameter` is the user's choice and is not second-guessed.
 */
export function defaultAmiProblem(instanceType: string): string | undefined {
  const family = instanceType.split(".")[0];
  const reason = UNSUPPORTED_BY_DEFAULT_AMI[family];
  return reason
    ? `${instanceType} cannot use the default AMI: ${reason} (set trainctl:instance.amiParameter or trainctl:instance.ami to a matching AMI)`
    : undefined;
}

/** Public SSM parameter of the AWS Deep Learning Base GPU AMI (Ubuntu 22.04, NVIDIA open kernel modules, CUDA). */
export const DEFAULT_AMI_PARAMETER = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id";

export type AmiSource = { kind: "image"; id: string } | { kind: "parameter"; name: string };

/** Where a node's AMI comes from: `instance.ami`, else `instance.amiParameter`, else the default DLAMI parameter. */
export function amiSource(instance: { ami?: string; amiParameter?: string }): AmiSource {
  return instance.ami ? { kind: "image", id: instance.ami } : { kind: "parameter", name: instance.amiParameter ?? DEFAULT_AMI_PARAMETER };
}
