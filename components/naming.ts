/**
 * Names, in one place. Logical names are stable (`<stack>-<part>`), so a second `pulumi up`
 * finds every resource in state and creates nothing; renaming one would replace the resource.
 */

/** A child's logical name: always prefixed with its component's name. */
export function childName(parent: string, part: string): string {
  return `${parent}-${part}`;
}

/**
 * The `Name` tag of node N's data volume. It includes the project, so two projects with a stack of
 * the same name never collide; the existence check looks volumes up by this tag.
 */
export function dataVolumeName(project: string, experiment: string, nodeIndex: number): string {
  return `${project}-${experiment}-data-${nodeIndex}`;
}

/** AWS Budgets names are unique per account: project and stack together. */
export function budgetName(project: string, experiment: string): string {
  return `${project}-${experiment}`;
}

/** The fully qualified name of this stack, for the self stack reference (`org/project/stack`). */
export function selfStackName(organization: string, project: string, experiment: string): string {
  return `${organization}/${project}/${experiment}`;
}

/** CloudWatch dashboard names are unique per account and allow only letters, digits, `-` and `_`. */
export function dashboardName(project: string, experiment: string): string {
  return `${project}-${experiment}`.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 255);
}
