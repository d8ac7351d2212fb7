import type { Labels } from "./api.ts";

/** `key=value, key2=value2`, sorted by key; empty when there are none. */
export const labelsText = (labels: Labels): string =>
  Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(", ");

/** The labels after `--label k=v` (set) and `--remove-label k` (remove), or undefined when neither was given. */
export function mergedLabels(
  current: Labels,
  set: Labels | undefined,
  remove: string[] | undefined,
): Labels | undefined {
  if (set === undefined && remove === undefined) return undefined;
  const next: Labels = { ...current, ...set };
  for (const key of remove ?? []) delete next[key];
  return next;
}
