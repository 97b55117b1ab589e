/**
 * The `refs/gatos/*` layout, as pure functions: every ref GATOS reads or writes is named here.
 *
 * Normative text: `spec/refs-layout.md`. The layout is designed so no two refs can ever be in a directory/file
 * conflict (`refs/a/b` vs `refs/a/b/c`), and so names never contain characters git forbids (`:` among them).
 */
import { GatosError } from './errors.js';

/** The kinds of actor an envelope may name. */
export const ACTOR_KINDS = ['user', 'agent', 'service'] as const;
/** One of {@link ACTOR_KINDS}. */
export type ActorKind = (typeof ACTOR_KINDS)[number];

/** `user|agent|service:<name>`, name `[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}`. */
export const ACTOR_RE = /^(user|agent|service):([A-Za-z0-9][A-Za-z0-9._@+-]{0,127})$/;
/** Namespace names: one ref component, no dots, so they can never collide with a sub-path. */
export const NAMESPACE_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The root of all GATOS refs. */
export const GATOS_PREFIX = 'refs/gatos/';
/** The repository's GATOS config (profile); a commit chain. */
export const CONFIG_REF = 'refs/gatos/config';
/** Registered public keys of actors and engines; one commit chain for all keys. */
export const TRUST_KEYS_REF = 'refs/gatos/trust/keys';

/** Throws `GATOS_E_NAMESPACE` unless `ns` is a valid namespace name. */
export function assertNamespace(ns: string): void {
  if (typeof ns !== 'string' || !NAMESPACE_RE.test(ns)) {
    throw new GatosError('GATOS_E_NAMESPACE', `invalid namespace ${JSON.stringify(ns)}`, {
      data: { ns },
      hint: 'Namespaces are 1-64 chars of a-z, 0-9, _ and -, starting with a letter or digit.',
    });
  }
}

/** Splits and checks an actor id; throws `GATOS_E_ENVELOPE_ACTOR`. */
export function parseActor(actor: string): { kind: ActorKind; name: string } {
  const m = typeof actor === 'string' ? ACTOR_RE.exec(actor) : null;
  if (!m) {
    throw new GatosError('GATOS_E_ENVELOPE_ACTOR', `invalid actor ${JSON.stringify(actor)}`, {
      data: { actor },
      hint: 'Actors look like user:alice, agent:ci or service:gatosd.',
    });
  }
  return { kind: m[1] as ActorKind, name: m[2]! };
}

// Only these bytes stand for themselves in a ref component; every other byte becomes %XX. Dots are encoded so
// no component can end in `.lock` or `.`, or contain `..`.
const PLAIN = /[A-Za-z0-9_-]/;

/** Encodes an actor name as one ref component (reversible; see spec/refs-layout.md). */
export function encodeRefComponent(name: string): string {
  let out = '';
  for (const ch of name) {
    if (PLAIN.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Inverse of {@link encodeRefComponent}. */
export function decodeRefComponent(component: string): string {
  return decodeURIComponent(component);
}

/** `actor` → `<kind>/<encoded-name>`, the actor's path below a plane's root. */
export function actorRefPath(actor: string): string {
  const { kind, name } = parseActor(actor);
  return `${kind}/${encodeRefComponent(name)}`;
}

/** Inverse of {@link actorRefPath}. */
export function actorFromRefPath(path: string): string {
  const [kind, enc, ...rest] = path.split('/');
  if (!kind || !enc || rest.length > 0 || !(ACTOR_KINDS as readonly string[]).includes(kind)) {
    throw new GatosError('GATOS_E_REF_NAME', `not an actor ref path: ${path}`);
  }
  const actor = `${kind}:${decodeRefComponent(enc)}`;
  if (actorRefPath(actor) !== path)
    throw new GatosError('GATOS_E_REF_NAME', `non-canonical actor ref path: ${path}`);
  return actor;
}

/** The journal of one actor in one namespace: `refs/gatos/journal/<ns>/<kind>/<name>`. */
export function journalRef(ns: string, actor: string): string {
  assertNamespace(ns);
  return `refs/gatos/journal/${ns}/${actorRefPath(actor)}`;
}

/** The prefix under which all journals of a namespace live. */
export function journalPrefix(ns: string): string {
  assertNamespace(ns);
  return `refs/gatos/journal/${ns}/`;
}

/** Parses a journal ref back into namespace and actor, or null if it is not one. */
export function parseJournalRef(ref: string): { ns: string; actor: string } | null {
  const m = /^refs\/gatos\/journal\/([^/]+)\/([^/]+\/[^/]+)$/.exec(ref);
  if (!m || !NAMESPACE_RE.test(m[1]!)) return null;
  try {
    return { ns: m[1]!, actor: actorFromRefPath(m[2]!) };
  } catch {
    return null;
  }
}

/** The state checkpoint chain of a namespace: `refs/gatos/state/<ns>`. */
export function stateRef(ns: string): string {
  assertNamespace(ns);
  return `refs/gatos/state/${ns}`;
}
