/** Dates and durations for people: absolute in the browser's locale, relative in words. */

const DAY = 86_400_000;

const absoluteFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});
const dateFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export function absolute(iso: string | null | undefined): string {
  if (!iso) return "—";
  return absoluteFormat.format(new Date(iso));
}

export function dateOnly(iso: string): string {
  return dateFormat.format(new Date(iso));
}

export function shortDay(date: Date): string {
  return dayFormat.format(date);
}

/** "in 3 days", "2 hours ago", "now". */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const diff = new Date(iso).getTime() - now;
  const abs = Math.abs(diff);
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ["year", 365 * DAY],
    ["month", 30 * DAY],
    ["week", 7 * DAY],
    ["day", DAY],
    ["hour", 3_600_000],
    ["minute", 60_000],
  ];
  for (const [unit, ms] of units) {
    if (abs >= ms || unit === "minute") {
      const n = Math.round(diff / ms);
      if (n === 0) return "just now";
      return relativeFormat.format(n, unit);
    }
  }
  return "just now";
}

export function daysUntil(iso: string, now = Date.now()): number {
  return (new Date(iso).getTime() - now) / DAY;
}

/** Value for <input type="datetime-local"> in local time. */
export function toLocalInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** datetime-local text (local time) → RFC 3339 in UTC, or undefined when empty or not a date. */
export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function plural(n: number, one: string, many = one + "s"): string {
  return `${n} ${n === 1 ? one : many}`;
}

export const DAY_MS = DAY;
