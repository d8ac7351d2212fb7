import { useCallback, useEffect, useState } from "preact/hooks";
import { all, ApiProblem, type ServiceAccount, saPath } from "./api.ts";

export const saKey = (project: string, name: string) => `${project}/${name}`;

/** Every service account of the given projects, keyed "project/name" (to know roles and fill pickers). */
export function useServiceAccounts(projects: string[]) {
  const [map, setMap] = useState<Map<string, ServiceAccount>>(new Map());
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<ApiProblem | null>(null);
  const [version, setVersion] = useState(0);
  const key = projects.join("\u0000");
  useEffect(() => {
    let live = true;
    Promise.all(projects.map((p) => all<ServiceAccount>(saPath(p)).catch(() => [] as ServiceAccount[]))).then(
      (lists) => {
        if (!live) return;
        const m = new Map<string, ServiceAccount>();
        for (const sa of lists.flat()) m.set(saKey(sa.project, sa.name), sa);
        setMap(m);
        setLoaded(true);
        setError(null);
      },
      (e: unknown) => live && setError(e instanceof ApiProblem ? e : null),
    );
    return () => {
      live = false;
    };
  }, [key, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { map, loaded, error, reload };
}

/** Exact field match: `name` and `token.name` are different controls when an SA and token are made together. */
export function fieldError(problem: ApiProblem | null, field: string): string | undefined {
  if (!problem) return undefined;
  const hit = problem.errors.find((e) => e.field === field || e.field === `body.${field}`);
  return hit?.message;
}
