/**
 * `gatosd`: opens the repository, takes its lock, loads the signing identity, serves the HTTP API and watches
 * the bus refs. Prints the listening URL as the first stdout line. SIGTERM/SIGINT: stop accepting, finish
 * in-flight publishes, end streams, release the lock.
 */
import { type RefStore, GatosError, isGatosError, requireRepoConfig } from '@gatos/core';
import { createObjectStore, createRefStore, openRepository } from '@gatos/git';
import type { FastifyInstance } from 'fastify';
import { BusService } from './bus-service.js';
import { type DaemonConfig, loadConfig, servedHosts, USAGE } from './config.js';
import { resolveIdentity } from '../identity/identity.js';
import { acquireLock, type DaemonLock } from './lock.js';
import { DaemonMetrics } from './metrics.js';
import { startRefsWatcher, type RefsWatcher } from './refs-watcher.js';
import { startWriter } from './writer-client.js';
import { buildServer } from './server.js';
import { SseHub } from './sse.js';

/** The daemon merges its own packs once this many were written since the last merge. */
const DAEMON_CONSOLIDATE_AFTER = 16;

/** A running daemon. */
export interface Daemon {
  readonly url: string;
  readonly config: DaemonConfig;
  readonly app: FastifyInstance;
  /** Graceful stop: no new connections, in-flight publishes finish, streams end, the lock is released. */
  close(): Promise<void>;
}

/** Starts a daemon (in this process) with a validated config. */
export async function startDaemon(
  config: DaemonConfig,
  env: NodeJS.ProcessEnv = process.env,
  log: (msg: string) => void = (m) => process.stderr.write(`gatosd: ${m}\n`),
): Promise<Daemon> {
  const repo = await openRepository({ cwd: config.repo });
  const lock: DaemonLock = acquireLock(repo.commonDir);
  if (lock.tookOver) log(`took over a stale lock at ${lock.path}`);
  let closeStores: () => Promise<void> = async () => {};
  let watcher: RefsWatcher | null = null;
  try {
    const reader = createObjectStore(repo);
    closeStores = () => reader.close();
    const startRefs = createRefStore(repo);
    const repoConfig = await requireRepoConfig(reader, startRefs);
    const signer = (await resolveIdentity({ actor: config.actor, env, objects: reader, refs: startRefs }))
      .events;
    // Group commits and ref writes run on a writer thread (`writer-thread.ts`): their file steps and signing no
    // longer queue behind HTTP work on this loop, nor delay it. One pack per group commit (2 fsyncs, where N
    // loose objects cost 2N plus their directories), merged in the background so packs do not pile up: measured
    // in bench/README.md "Message bus".
    const writer = await startWriter({
      repo: config.repo,
      env,
      packThreshold: 1,
      consolidateAfter: DAEMON_CONSOLIDATE_AFTER,
      actor: signer.actor,
      maxEnvelopeBytes: repoConfig.max_envelope_bytes,
      reader,
    });
    const objects = writer.objects;
    closeStores = () => writer.close();
    const refs: RefStore = writer.refs;
    const metrics = new DaemonMetrics();
    let draining = false;
    let hub: SseHub | null = null;
    const bus = new BusService(
      { objects, refs },
      signer,
      repoConfig.max_envelope_bytes,
      (topic, r) => {
        metrics.add(metrics.published, topic, r.published.length);
        metrics.add(metrics.duplicates, topic, r.duplicates.length);
        if (r.published.length) hub?.notify(topic);
      },
      writer.publish,
    );
    hub = new SseHub({ objects, refs }, (t) => bus.index(t), metrics, log);
    const h = hub;
    const app = buildServer({
      bus,
      hub: h,
      metrics,
      token: config.token,
      hosts: servedHosts(config),
      maxBodyBytes: config.maxBodyBytes,
      maxBatch: config.maxBatch,
      draining: () => draining,
      log,
    });
    await app.listen({ host: config.host, port: config.port });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    watcher = startRefsWatcher(
      refs,
      config.pollMs,
      (topics) => {
        for (const t of topics) h.notify(t);
      },
      (e) => log(`refs watcher: ${(e as Error).message}`),
      // This daemon's own appends are already in its index and were delivered from memory.
      (ref, oid) => bus.wrote(ref, oid),
    );
    const w = watcher;
    let closing: Promise<void> | null = null;
    return {
      url: `http://${host}:${port}`,
      config,
      app,
      close() {
        closing ??= (async () => {
          draining = true;
          w.stop();
          const closed = app.close(); // stops accepting; waits for in-flight requests
          await bus.idle();
          h.closeAll();
          await closed;
          await closeStores();
          lock.release();
        })();
        return closing;
      },
    };
  } catch (e) {
    watcher?.stop();
    await closeStores();
    lock.release();
    throw e;
  }
}

/** The `gatosd` command: exit 0 after a graceful stop; on error prints `{ok:false,error}` JSON on stderr. */
export async function main(argv: string[]): Promise<void> {
  try {
    const config = loadConfig(argv, process.env, process.cwd());
    if (config === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    const daemon = await startDaemon(config);
    process.stdout.write(`${daemon.url}\n`);
    const stop = (sig: string) => {
      process.stderr.write(`gatosd: ${sig}, shutting down\n`);
      daemon.close().then(
        () => process.exit(0),
        (e) => {
          process.stderr.write(`gatosd: shutdown failed: ${(e as Error).message}\n`);
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  } catch (e) {
    const err = isGatosError(e) ? e : new GatosError('GATOS_E_INTERNAL', (e as Error).message ?? String(e));
    process.stderr.write(`gatosd: ${err.code}: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ''}\n`);
    process.stderr.write(`${JSON.stringify({ ok: false, error: err.toJSON() })}\n`);
    process.exit(err.exitStatus);
  }
}
