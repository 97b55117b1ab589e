/**
 * gatosd's HTTP API (fastify): publish, read, ack and stream bus messages under `/v1`, plus `/health` and
 * `/metrics`. See `spec/gatosd-http-api.md`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  ack,
  assertGroup,
  assertTopic,
  type BusStores,
  ErrorCodes,
  ExitStatus,
  GatosError,
  isGatosError,
  isOid,
  loadTopic,
  readGroup,
  readMessages,
} from '@gatos/core';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { BusService, Draft } from './bus-service.js';
import type { DaemonMetrics } from './metrics.js';
import { messageJson, type SseHub } from './sse.js';

/** What the routes need. */
export interface ServerDeps {
  bus: BusService;
  hub: SseHub;
  metrics: DaemonMetrics;
  token: string | null;
  maxBodyBytes: number;
  maxBatch: number;
  /** The host names requests may name (`Host`, and an `Origin`'s host); null: any (see `servedHosts`). */
  hosts: ReadonlySet<string> | null;
  /** True once shutdown began: publishes get 503. */
  draining: () => boolean;
  log?: (msg: string) => void;
}

function bad(message: string, data: Record<string, unknown> = {}): GatosError {
  return new GatosError('GATOS_E_HTTP_BAD_REQUEST', message, { data });
}

/** The HTTP status for a GATOS error. */
export function httpStatus(e: GatosError): number {
  if (e.code === 'GATOS_E_HTTP_AUTH') return 401;
  if (e.code === 'GATOS_E_REF_CONFLICT') return 503;
  const s = ErrorCodes[e.code][0] as number;
  if (s === ExitStatus.usage || s === ExitStatus.invalid) return 400;
  if (s === ExitStatus.notFound) return 404;
  if (s === ExitStatus.conflict) return 409;
  if (s === ExitStatus.deny) return 403;
  if (s === ExitStatus.limit) return 413;
  return 500;
}

function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).send({ ok: false, error: { code, message } });
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function drafts(body: unknown, maxBatch: number): Draft[] {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('expected a JSON object');
  const one = (d: unknown, where: string): Draft => {
    if (!d || typeof d !== 'object' || Array.isArray(d) || !Object.hasOwn(d, 'data')) {
      throw bad(`${where}: expected {"data": …, "key"?, "type"?}`);
    }
    const r = d as Record<string, unknown>;
    for (const k of Object.keys(r))
      if (!['data', 'key', 'type'].includes(k)) throw bad(`${where}: unknown field ${k}`);
    if (r.key !== undefined && typeof r.key !== 'string')
      throw bad(`${where}: key must be a string (a ULID)`);
    if (r.type !== undefined && typeof r.type !== 'string') throw bad(`${where}: type must be a string`);
    return r as unknown as Draft;
  };
  if (Object.hasOwn(body, 'messages')) {
    const list = (body as { messages: unknown }).messages;
    if (Object.keys(body).length !== 1) throw bad('a batch has only "messages"');
    if (!Array.isArray(list) || list.length === 0) throw bad('"messages" must be a non-empty array');
    if (list.length > maxBatch) {
      throw new GatosError('GATOS_E_HTTP_TOO_LARGE', `a batch holds at most ${maxBatch} messages`, {
        data: { count: list.length, max: maxBatch },
      });
    }
    return list.map((d, i) => one(d, `messages[${i}]`));
  }
  return [one(body, 'body')];
}

function intParam(v: unknown, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw bad(`${name} must be an integer from ${min} to ${max}`);
  }
  return Number(v);
}

/** The host name of a `Host` header (lowercase, without port or IPv6 brackets), or null when malformed. */
export function hostOf(header: string): string | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/.exec(header.trim());
  return m ? (m[1] ?? m[2]!).toLowerCase() : null;
}

/** The host name of an `Origin` header (`http(s)://host[:port]`), or null (`null`, other schemes, junk). */
function originHost(origin: string): string | null {
  const m = /^https?:\/\/([^/?#]+)$/i.exec(origin.trim());
  return m ? hostOf(m[1]!) : null;
}

/** Builds the fastify app (not listening). */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const { bus, hub, metrics } = deps;
  const stores: BusStores = bus.stores;
  const app = Fastify({ bodyLimit: deps.maxBodyBytes, logger: false, forceCloseConnections: 'idle' });
  const tokenDigest = deps.token === null ? null : digest(deps.token);

  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (e) {
      done(bad(`the body is not valid JSON: ${(e as Error).message}`), undefined);
    }
  });

  // Not a browser target (DNS rebinding, cross-site POSTs), with or without a token: the Host must be one we
  // serve, a web page's Origin must be ours, and a write must say it is JSON (a form or a text/plain body from a
  // foreign page is refused before anything reads it).
  app.addHook('onRequest', async (req, reply) => {
    const host = hostOf(req.headers.host ?? '');
    if (deps.hosts && (host === null || !deps.hosts.has(host))) {
      metrics.httpErrors++;
      return sendError(
        reply,
        403,
        'GATOS_E_HTTP_FORBIDDEN',
        `this daemon does not serve host ${JSON.stringify(req.headers.host ?? '')}`,
      );
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const from = originHost(origin);
      if (from === null || (deps.hosts ? !deps.hosts.has(from) : from !== host)) {
        metrics.httpErrors++;
        return sendError(reply, 403, 'GATOS_E_HTTP_FORBIDDEN', `requests from origin ${origin} are refused`);
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json') {
        metrics.httpErrors++;
        return sendError(
          reply,
          415,
          'GATOS_E_HTTP_MEDIA_TYPE',
          'writes take a JSON body: Content-Type: application/json',
        );
      }
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    if (tokenDigest === null || req.url === '/health') return;
    const h = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(h);
    if (!m || !timingSafeEqual(digest(m[1]!), tokenDigest)) {
      metrics.httpErrors++;
      return sendError(reply, 401, 'GATOS_E_HTTP_AUTH', m ? 'wrong bearer token' : 'missing bearer token');
    }
  });

  app.setErrorHandler((err, _req, reply) => {
    metrics.httpErrors++;
    if (isGatosError(err)) return sendError(reply, httpStatus(err), err.code, err.message);
    const e = err as { code?: string; statusCode?: number; message: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendError(reply, 413, 'GATOS_E_HTTP_TOO_LARGE', `the body exceeds ${deps.maxBodyBytes} bytes`);
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return sendError(reply, e.statusCode, 'GATOS_E_HTTP_BAD_REQUEST', e.message);
    }
    deps.log?.(`internal error: ${(err as Error).stack ?? String(err)}`);
    return sendError(reply, 500, 'GATOS_E_INTERNAL', 'internal error');
  });
  app.setNotFoundHandler((req, reply) => {
    metrics.httpErrors++;
    return sendError(reply, 404, 'GATOS_E_HTTP_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);
  });

  app.get('/health', async () => ({ ok: true, actor: bus.signer.actor, draining: deps.draining() }));
  app.get('/metrics', async (_req, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render()),
  );

  app.post<{ Params: { topic: string } }>('/v1/topics/:topic/messages', async (req, reply) => {
    const t0 = process.hrtime.bigint();
    const { topic } = req.params;
    assertTopic(topic);
    if (deps.draining()) return sendError(reply, 503, 'GATOS_E_HTTP_UNAVAILABLE', 'shutting down');
    const envelopes = bus.envelopes(drafts(req.body, deps.maxBatch));
    const r = await bus.publish(topic, envelopes);
    metrics.observePublish(Number(process.hrtime.bigint() - t0) / 1e9);
    return reply.code(r.published.length ? 201 : 200).send({
      ok: true,
      topic,
      published: r.published.map((p) => ({
        offset: p.offset,
        ulid: p.ulid,
        commit: p.commit,
        segment: p.segment,
        cid: p.cid,
      })),
      duplicates: r.duplicates,
    });
  });

  app.get<{ Params: { topic: string }; Querystring: { group?: string; limit?: string; after?: string } }>(
    '/v1/topics/:topic/messages',
    async (req) => {
      const { topic } = req.params;
      assertTopic(topic);
      const limit = intParam(req.query.limit, 'limit', 1, 1000, 100);
      if (req.query.group !== undefined) {
        const r = await readGroup(stores, { topic, group: req.query.group, limit, index: bus.index(topic) });
        return {
          ok: true,
          topic,
          group: req.query.group,
          position: r.position?.offset ?? null,
          position_record: r.position,
          messages: r.messages.map((m) => ({ ...messageJson(m), content_hash: m.contentHash })),
        };
      }
      const after = intParam(req.query.after, 'after', -1, Number.MAX_SAFE_INTEGER, -1);
      const messages = await readMessages(stores, { topic, after, limit, index: bus.index(topic) });
      return {
        ok: true,
        topic,
        messages: messages.map((m) => ({ ...messageJson(m), content_hash: m.contentHash })),
      };
    },
  );

  app.post<{ Params: { topic: string } }>('/v1/topics/:topic/ack', async (req) => {
    const { topic } = req.params;
    assertTopic(topic);
    const b = req.body as { group?: unknown; offset?: unknown; commit?: unknown } | null;
    if (!b || typeof b !== 'object' || typeof b.group !== 'string') throw bad('expected {"group", "offset"}');
    let to: { offset: number } | { commit: string };
    if (b.commit !== undefined && b.offset === undefined) {
      if (typeof b.commit !== 'string' || !isOid(b.commit)) throw bad('commit must be 40 lowercase hex');
      to = { commit: b.commit };
    } else if (typeof b.offset !== 'number' || !Number.isSafeInteger(b.offset) || b.offset < 0) {
      throw bad('offset must be a non-negative integer (or give "commit" instead)');
    } else to = { offset: b.offset };
    assertGroup(b.group);
    const r = await ack(stores, {
      topic,
      group: b.group,
      to,
      now: new Date(),
      index: bus.index(topic),
      retry: { sleep: (ms) => new Promise((res) => setTimeout(res, ms)), random: Math.random },
    });
    return {
      ok: true,
      topic,
      group: b.group,
      moved: r.moved,
      offset: r.position.offset,
      commit: r.commit,
      position: r.position,
    };
  });

  app.get<{ Params: { topic: string }; Querystring: { group?: string; after?: string } }>(
    '/v1/topics/:topic/stream',
    async (req, reply) => {
      const { topic } = req.params;
      assertTopic(topic);
      const last = req.headers['last-event-id'];
      let after: number;
      if (typeof last === 'string' && last !== '')
        after = intParam(last, 'Last-Event-ID', -1, Number.MAX_SAFE_INTEGER, -1);
      else if (req.query.after !== undefined)
        after = intParam(req.query.after, 'after', -1, Number.MAX_SAFE_INTEGER, -1);
      else if (req.query.group !== undefined) {
        const r = await readGroup(stores, {
          topic,
          group: req.query.group,
          limit: 1,
          index: bus.index(topic),
        });
        after = r.position?.offset ?? -1;
      } else {
        // Live tail: only messages published from now on.
        const state = await loadTopic(stores, topic, bus.index(topic));
        after = state.segments.at(-1)?.messages.at(-1)?.offset ?? -1;
      }
      reply.hijack();
      hub.open(topic, reply.raw, after);
    },
  );
  return app;
}
