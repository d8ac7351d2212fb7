/** The read-only email of a service account, usable wherever one is referenced. */
export const emailOf = (name: string, project: string): string =>
  `${name}@${project}.serviceaccounts.latchkey`;

/** Parses an SA email back into its name and project, or undefined when it is not one. */
export function parseEmail(email: string): { name: string; project: string } | undefined {
  const match =
    /^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)@([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.serviceaccounts\.latchkey$/.exec(
      email,
    );
  return match?.[1] && match[2] ? { name: match[1], project: match[2] } : undefined;
}
