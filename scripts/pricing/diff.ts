import { UsageError } from "../../core/errors";
import type { CostItem, CostReport } from "./estimate";

export interface CostChange {
  urn: string;
  name: string;
  type: string;
  change: "added" | "removed" | "changed";
  baseHourly: number | null;
  headHourly: number | null;
  deltaHourly: number;
}

export interface CostDiff {
  head: CostReport;
  base: CostReport;
  delta: { hourly: number; monthly: number; total: number };
  changes: CostChange[];
}

const round = (value: number) => Math.round(value * 1e6) / 1e6;

/** Head minus base, per resource and in total; resources whose price did not move are left out. */
export function compareCosts(head: CostReport, base: CostReport): CostDiff {
  const before = new Map(base.items.map((i) => [i.urn, i]));
  const after = new Map(head.items.map((i) => [i.urn, i]));
  const changes: CostChange[] = [];
  const line = (urn: string, b: CostItem | undefined, h: CostItem | undefined): CostChange => ({
    urn,
    name: (h ?? b)!.name,
    type: (h ?? b)!.type,
    change: !b ? "added" : !h ? "removed" : "changed",
    baseHourly: b?.hourly ?? null,
    headHourly: h?.hourly ?? null,
    deltaHourly: round((h?.hourly ?? 0) - (b?.hourly ?? 0)),
  });
  for (const [urn, h] of after) {
    const b = before.get(urn);
    if (!b || b.hourly !== h.hourly || b.unpriced !== h.unpriced) changes.push(line(urn, b, h));
  }
  for (const [urn, b] of before) if (!after.has(urn)) changes.push(line(urn, b, undefined));
  changes.sort((x, y) => Math.abs(y.deltaHourly) - Math.abs(x.deltaHourly) || x.urn.localeCompare(y.urn));
  return {
    head,
    base,
    delta: { hourly: round(head.hourly - base.hourly), monthly: round(head.monthly - base.monthly), total: round(head.total - base.total) },
    changes,
  };
}

const sane = (value: number | null | undefined) => value === null || value === undefined || (Number.isFinite(value) && value >= 0);

/**
 * The guard at the pricing engine's boundary: every figure of a report is a finite number >= 0
 * (or null for unpriced). A number too large to sum is bad input, named by resource and field.
 */
export function assertSaneReport(report: CostReport, flag: string): CostReport {
  for (const item of report.items) {
    for (const field of ["hourly", "monthly", "oneTime", "afterDeleteMonthly"] as const) {
      if (!sane(item[field]))
        throw new UsageError(`${flag}: ${item.urn}: its ${field} cost is ${item[field]}, not a finite amount >= 0 (a number in the input is out of range)`, {
          subject: flag,
        });
    }
  }
  for (const field of ["hours", "hourly", "monthly", "total", "oneTime"] as const) {
    if (!sane(report[field]))
      throw new UsageError(`${flag}: the ${field} figure is ${report[field]}, not a finite amount >= 0 (a number in the input is out of range)`, {
        subject: flag,
      });
  }
  if (report.savings && !(sane(report.savings.hourly) && sane(report.savings.monthly))) {
    throw new UsageError(`${flag}: the savings figure is not a finite amount >= 0 (a number in the input is out of range)`, { subject: flag });
  }
  return report;
}
