/**
 * Names, in one place: core/names.ts. Logical names are stable (`<stack>-<part>`), so a second
 * `pulumi up` finds every resource in state and creates nothing; renaming one would replace the resource.
 */
export { budgetName, childName, dashboardName, dataVolumeName, logicalNames, nodeGroupName, selfStackName } from "../core/names";
