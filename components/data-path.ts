import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { treeDigest } from "../core/tree-digest";

/** Where `pulumi up` writes the generated loader, per stack. */
export const loaderPath = (stack: string) => `.trainctl/${stack}/loader.py`;

const quote = (value: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`);

/** The exact shell the upload step runs; the transfer command resumes from its journal on a re-run. */
export function uploadCommand(source: string, destination: string): string {
  return `npx --no trainctl transfer ${quote(source)} ${quote(destination)} --sync`;
}

export interface LoaderSpec {
  strategy: string;
  format: string;
  /** Where the loader reads; undefined means the uploaded dataset's location. */
  data?: string;
  instanceType: string;
  /** local-cache: where the bootstrap stages the data. */
  cacheDir?: string;
}

/** The exact shell the loader step runs: generate the module, then publish it to the code prefix. */
export function loaderCommand(spec: LoaderSpec & { data: string }, out: string, destination: string): string {
  const cache = spec.cacheDir && spec.strategy === "local-cache" ? ` --cache-dir ${quote(spec.cacheDir)}` : "";
  return [
    `npx --no trainctl dataloader --strategy ${quote(spec.strategy)} --format ${quote(spec.format)} --data ${quote(spec.data)} --instance-type ${quote(spec.instanceType)}${cache} --out ${quote(out)} --force`,
    `npx --no trainctl transfer ${quote(out)} ${quote(destination)}`,
  ].join(" && ");
}

export interface DataPathArgs {
  stack: string;
  projectDir: string;
  /** A local dataset folder to upload… */
  localSource?: string;
  /** …or the s3:// location the data already lives at. */
  externalSource?: string;
  datasetsBucket: pulumi.Input<string>;
  codeBucket: pulumi.Input<string>;
  loader: LoaderSpec;
}

/**
 * The data path as resources: upload a local dataset (re-run when its tree digest changes) and
 * generate the DataLoader (re-run when its shaping inputs change). Deleting either does nothing: the
 * data lives in a protected bucket.
 */
export class DataPath extends pulumi.ComponentResource {
  readonly upload?: command.local.Command;
  readonly loader: command.local.Command;
  /** s3:// URL the instance stages from. */
  readonly datasetLocation: pulumi.Output<string>;
  readonly loaderLocation: pulumi.Output<string>;

  constructor(name: string, args: DataPathArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("trainctl:data:DataPath", name, {}, opts);
    const child = { parent: this };
    const datasetPrefix = "dataset/";
    this.datasetLocation = args.localSource ? pulumi.interpolate`s3://${args.datasetsBucket}/${datasetPrefix}` : pulumi.output(args.externalSource ?? "");
    if (args.localSource) {
      const folder = path.resolve(args.projectDir, args.localSource);
      const tree = treeDigest(folder);
      this.upload = new command.local.Command(
        `${name}-upload`,
        {
          create: this.datasetLocation.apply((destination) => uploadCommand(folder, destination)),
          update: this.datasetLocation.apply((destination) => uploadCommand(folder, destination)),
          triggers: [tree.digest],
          dir: args.projectDir,
          logging: "stderr",
        },
        child,
      );
    }
    const out = loaderPath(args.stack);
    this.loaderLocation = pulumi.interpolate`s3://${args.codeBucket}/code/loader.py`;
    const data = args.loader.data ?? this.datasetLocation;
    const loaderShell = pulumi.all([this.loaderLocation, data]).apply(([destination, from]) => loaderCommand({ ...args.loader, data: from }, out, destination));
    this.loader = new command.local.Command(
      `${name}-loader`,
      {
        create: loaderShell,
        update: loaderShell,
        triggers: [
          args.loader.strategy,
          args.loader.format,
          data,
          args.loader.instanceType,
          ...(args.loader.strategy === "local-cache" && args.loader.cacheDir ? [args.loader.cacheDir] : []),
        ],
        dir: args.projectDir,
        logging: "stderr",
      },
      { ...child, dependsOn: this.upload ? [this.upload] : [] },
    );
    this.registerOutputs({ datasetLocation: this.datasetLocation, loaderLocation: this.loaderLocation });
  }
}
