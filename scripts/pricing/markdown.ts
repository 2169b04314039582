import type { CostDiff } from "./diff";
import type { CostReport } from "./estimate";

/** Marks the PR comment so a workflow can find and update it instead of adding another. */
export const COST_COMMENT_MARKER = "<!-- trainctl-cost -->";

const money = (value: number | null, digits = 2): string => {
  if (value === null) return "unpriced";
  const sign = value < 0 ? "-" : "";
  return `${sign}$${Math.abs(value).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
};
const signed = (value: number, digits = 2) => (value > 0 ? `+${money(value, digits)}` : value < 0 ? money(value, digits) : money(0, digits));

/** One line a reviewer reads first: "+$1.21/h, +$883/month". */
export function costSummary(diff: CostDiff): string {
  return `${signed(diff.delta.hourly)}/h, ${signed(Math.round(diff.delta.monthly), 0)}/month`;
}

/** A compact PR comment: totals first, then the resources whose price changed. */
export function renderCostDiffMarkdown(diff: CostDiff, title = "Cost estimate"): string {
  const { head, base, delta } = diff;
  const lines = [
    COST_COMMENT_MARKER,
    `### ${title}: ${costSummary(diff)}`,
    "",
    "| | base | head | delta |",
    "|---|---:|---:|---:|",
    `| per hour | ${money(base.hourly, 3)} | ${money(head.hourly, 3)} | ${signed(delta.hourly, 3)} |`,
    `| per month | ${money(base.monthly)} | ${money(head.monthly)} | ${signed(delta.monthly)} |`,
    `| lifetime | ${money(base.total)} (${base.hours} h) | ${money(head.total)} (${head.hours} h) | ${signed(delta.total)} |`,
  ];
  if (diff.changes.length > 0) {
    lines.push("", "| resource | change | base $/h | head $/h | delta $/h |", "|---|---|---:|---:|---:|");
    const cell = (value: number | null, present: boolean) => (present ? money(value, 4) : "—");
    for (const c of diff.changes) {
      lines.push(
        `| \`${c.name}\` (${c.type.split(":").pop()}) | ${c.change} | ${cell(c.baseHourly, c.change !== "added")} | ${cell(c.headHourly, c.change !== "removed")} | ${signed(c.deltaHourly, 4)} |`,
      );
    }
  } else {
    lines.push("", "No resource changes its price.");
  }
  const unpriced = head.unpriced;
  lines.push("", `<sub>Prices: ${head.priceSource}. Monthly = hourly × 730.${unpriced ? ` ${unpriced} resource(s) unpriced.` : ""}</sub>`);
  return `${lines.join("\n")}\n`;
}

/** A single estimate as markdown (no base to compare with). */
export function renderCostMarkdown(report: CostReport, title = "Cost estimate"): string {
  const lines = [
    COST_COMMENT_MARKER,
    `### ${title}: ${money(report.hourly, 3)}/h, ${money(report.monthly)}/month`,
    "",
    "| resource | $/h | $/month | detail |",
    "|---|---:|---:|---|",
    ...report.items.map((i) => `| \`${i.name}\` | ${money(i.hourly, 4)} | ${money(i.monthly)} | ${i.detail} |`),
    "",
    `<sub>Prices: ${report.priceSource}. Lifetime ${money(report.total)} over ${report.hours} h.</sub>`,
  ];
  return `${lines.join("\n")}\n`;
}
