import type { Store, StoreLog } from "../db/database.ts";
import type { Deps } from "../server/deps.ts";
import { ChangeListener } from "./notifications.ts";

/** How often a node that is not listening re-reads what it keeps in memory. */
const FALLBACK_POLL_MS = 5000;

/**
 * What each node keeps in memory, and how another node's change reaches it:
 *
 * - signing keys (the KeyRing): reloaded on `signing_keys`;
 * - revocation feed subscribers (SSE): woken on `revocations`, and read the new events from the store.
 *
 * Token digests, revocations, bound objects and service accounts are not cached: every
 * authentication reads them from the store, so a change on one node holds on every node as soon as
 * it commits. Policy is configuration, the same on every node. A cache added later subscribes here.
 */
export interface ClusterSync {
  readonly listener: ChangeListener | undefined;
  stop(): Promise<void>;
}

/** Starts listening for other nodes' changes; nothing to do for SQLite (one process owns the file). */
export async function startClusterSync(store: Store, deps: Deps, log: StoreLog): Promise<ClusterSync> {
  if (!store.listen) return { listener: undefined, stop: async () => undefined };
  const listener = new ChangeListener({
    channel: store.listen.channel,
    nodeId: store.nodeId,
    connect: store.listen.connect,
    log,
    onChange: async (topic) => {
      if (topic === "signing_keys") await deps.keys.load();
      if (topic === "revocations") deps.revocations.announce();
    },
    onResync: async () => {
      await deps.keys.load();
      deps.revocations.announce();
    },
  });
  await listener.start();
  // While not listening (reconnecting, or an engine without LISTEN), poll instead, so that keys and
  // feed subscribers are at most FALLBACK_POLL_MS behind. Stops costing anything once listening.
  const poll = setInterval(() => {
    if (listener.connected) return;
    void Promise.resolve()
      .then(async () => {
        await deps.keys.load();
        deps.revocations.announce();
      })
      .catch(() => undefined); // the store is down too: the listener logs, requests get 503
  }, FALLBACK_POLL_MS);
  poll.unref();
  return {
    listener,
    stop: async () => {
      clearInterval(poll);
      await listener.stop();
    },
  };
}
