import type { ResourceRecord } from "../../scripts/state/model";

/** `pulumi stack export` v3 of offline-plan records: ids in outputs, missing false flags omitted. */
export function stateExport(resources: readonly ResourceRecord[]): unknown {
  return {
    version: 3,
    deployment: {
      manifest: { time: "2026-11-20T10:00:00.000Z", magic: "fixture", version: "v3.200.0" },
      resources: resources.map((r) => ({
        urn: r.urn,
        custom: r.custom,
        ...(r.id ? { id: r.id } : {}),
        type: r.type,
        inputs: r.inputs,
        outputs: r.custom ? { ...r.outputs, id: r.id } : r.outputs,
        ...(r.parent ? { parent: r.parent } : {}),
        ...(r.provider ? { provider: r.provider } : {}),
        ...(r.protect ? { protect: true } : {}),
      })),
    },
  };
}
