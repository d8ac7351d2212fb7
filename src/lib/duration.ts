const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Parses `90d`, `12h`, `30m`, `3600s` or a bare number of seconds. Returns undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)([smhdw]?)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * (units[match[2] || "s"] ?? 1);
}
