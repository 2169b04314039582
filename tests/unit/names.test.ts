import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkConstraints } from "../../core/aws-constraints";
import {
  AUTONAME_SUFFIX,
  INCARNATION,
  autoName,
  budgetName,
  childName,
  dashboardName,
  dataVolumeName,
  derivedNames,
  experimentNameProblem,
  logicalNames,
  maxExperimentNameLength,
  nodeGroupName,
  newIncarnation,
  runSecretsPath,
  selfStackName,
} from "../../core/names";

const project = fc.stringMatching(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/);
const experiment = fc.stringMatching(/^[a-z0-9]{1,8}(?:-[a-z0-9]{1,8}){0,4}$/);
/** Pulumi project names: letters, digits, `_`, `.` and `-`. */
const pulumiProject = fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/);

describe("newIncarnation", () => {
  it("is 12 lowercase hex characters, the config's rule, and differs between calls", () => {
    const ids = Array.from({ length: 50 }, newIncarnation);
    for (const id of ids) expect(id).toMatch(INCARNATION);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("childName and autoName", () => {
  it("a child's name starts with its component's name", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (parent, part) => {
        expect(childName(parent, part).startsWith(`${parent}-`)).toBe(true);
      }),
    );
  });

  it("autoName adds exactly Pulumi's suffix: a dash and 7 characters", () => {
    expect(AUTONAME_SUFFIX).toMatch(/^-[a-z0-9]{7}$/);
    expect(autoName("dev-training-role")).toBe("dev-training-role-0000000");
    expect(autoName("x").length).toBe(1 + 8);
  });

  it("logical names nest under the experiment: training's children under training", () => {
    expect(logicalNames.datasetsBucket("dev")).toBe("dev-datasets-bucket");
    expect(logicalNames.role("dev")).toBe("dev-training-role");
    expect(logicalNames.placementGroup("dev").startsWith(logicalNames.training("dev"))).toBe(true);
  });
});

describe("names that include the project", () => {
  it("two projects with a stack of the same name never share a data volume, budget or dashboard name", () => {
    fc.assert(
      fc.property(project, project, experiment, fc.nat(63), (a, b, e, node) => {
        fc.pre(a !== b);
        expect(dataVolumeName(a, e, node)).not.toBe(dataVolumeName(b, e, node));
        expect(budgetName(a, e)).not.toBe(budgetName(b, e));
        expect(dashboardName(a, e)).not.toBe(dashboardName(b, e));
      }),
    );
  });

  it("each node's data volume has its own name", () => {
    expect(dataVolumeName("trainctl", "dev", 0)).toBe("trainctl-dev-data-0");
    expect(new Set(Array.from({ length: 64 }, (_, i) => dataVolumeName("p", "e", i))).size).toBe(64);
  });

  it("each node's Auto Scaling group has its own name, with project and experiment, within AWS's rules for every accepted name (property)", () => {
    expect(nodeGroupName("trainctl", "dev", 1)).toBe("trainctl-dev-node-1");
    fc.assert(
      fc.property(pulumiProject, experiment, fc.nat(63), (p, e, node) => {
        fc.pre(experimentNameProblem(e, p) === undefined);
        const name = nodeGroupName(p, e, node);
        expect(name).not.toBe(nodeGroupName(p, e, node + 1));
        const resources = [
          { type: "aws:autoscaling/group:Group", name: "g", inputs: { name }, tags: {} },
          { type: "aws:ec2/launchTemplate:LaunchTemplate", name: "t", inputs: { name }, tags: {} },
        ];
        expect(checkConstraints(resources, { region: "us-east-1" })).toEqual([]);
      }),
    );
  });

  it("selfStackName is org/project/stack, the form StackReference takes", () => {
    expect(selfStackName("organization", "trainctl", "dev")).toBe("organization/trainctl/dev");
  });

  it("run secrets live under /trainctl/<project>/<experiment>/, a path SSM accepts", () => {
    const path = runSecretsPath("trainctl", "dev");
    expect(path).toBe("/trainctl/trainctl/dev/");
    expect(path.startsWith("/") && path.endsWith("/")).toBe(true);
  });
});

describe("every name of every accepted experiment passes the AWS guard", () => {
  it("budget and dashboard names obey their AWS rules (property)", () => {
    fc.assert(
      fc.property(pulumiProject, experiment, (p, e) => {
        fc.pre(experimentNameProblem(e, p) === undefined);
        const resources = [
          { type: "aws:budgets/budget:Budget", name: "b", inputs: { name: budgetName(p, e) }, tags: {} },
          { type: "aws:cloudwatch/dashboard:Dashboard", name: "d", inputs: { dashboardName: dashboardName(p, e) }, tags: {} },
          { type: "aws:s3/bucket:Bucket", name: logicalNames.checkpointsBucket(e), inputs: {}, tags: {} },
          { type: "aws:iam/role:Role", name: logicalNames.role(e), inputs: {}, tags: {} },
        ];
        expect(checkConstraints(resources, { region: "us-east-1" })).toEqual([]);
      }),
    );
  });

  it("the longest accepted name is maxExperimentNameLength, where the tightest derived name has no slack left", () => {
    fc.assert(
      fc.property(pulumiProject, (p) => {
        const max = maxExperimentNameLength(p);
        expect(experimentNameProblem("a".repeat(max), p)).toBeUndefined();
        expect(experimentNameProblem("a".repeat(max + 1), p)).toMatch(/at most/);
        if (max < 63) expect(Math.min(...derivedNames(p, "a".repeat(max)).map((d) => d.max - d.name.length))).toBe(0);
      }),
    );
  });
});
