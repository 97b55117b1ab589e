import { describe, expect, it } from 'vitest';
import {
  actorFromRefPath,
  actorRefPath,
  encodeRefComponent,
  journalRef,
  parseJournalRef,
  stateRef,
} from '../src/ref-layout.js';

describe('refs layout', () => {
  it('names a journal per namespace and actor, readable for common names', () => {
    expect(journalRef('demo', 'user:alice')).toBe('refs/gatos/journal/demo/user/alice');
    expect(journalRef('lab-1', 'service:gatosd')).toBe('refs/gatos/journal/lab-1/service/gatosd');
    expect(stateRef('demo')).toBe('refs/gatos/state/demo');
  });

  it('encodes every byte git could object to, reversibly', () => {
    expect(encodeRefComponent('a.lock')).toBe('a%2Elock');
    expect(encodeRefComponent('bob@example.org')).toBe('bob%40example%2Eorg');
    for (const actor of ['user:a.lock', 'agent:x..y', 'user:bob@example.org', 'service:a+b', 'user:A_b-9']) {
      const path = actorRefPath(actor);
      expect(path).not.toMatch(/[:~^?*[\\ ]|\.\.|\.lock$|\.$|@\{/);
      expect(actorFromRefPath(path)).toBe(actor);
      expect(parseJournalRef(`refs/gatos/journal/ns/${path}`)).toEqual({ ns: 'ns', actor });
    }
  });

  it('rejects bad namespaces and actors with their codes', () => {
    expect(() => journalRef('a/b', 'user:alice')).toThrow(
      expect.objectContaining({ code: 'GATOS_E_NAMESPACE' }),
    );
    expect(() => journalRef('A', 'user:alice')).toThrow(
      expect.objectContaining({ code: 'GATOS_E_NAMESPACE' }),
    );
    expect(() => journalRef('demo', 'robot:x')).toThrow(
      expect.objectContaining({ code: 'GATOS_E_ENVELOPE_ACTOR' }),
    );
    expect(() => journalRef('demo', 'user:')).toThrow(
      expect.objectContaining({ code: 'GATOS_E_ENVELOPE_ACTOR' }),
    );
    expect(() => journalRef('demo', 'user:a:b')).toThrow(
      expect.objectContaining({ code: 'GATOS_E_ENVELOPE_ACTOR' }),
    );
  });

  it('refuses non-canonical encodings when parsing', () => {
    expect(parseJournalRef('refs/gatos/journal/demo/user/%61lice')).toBeNull();
    expect(parseJournalRef('refs/gatos/journal/demo/robot/alice')).toBeNull();
    expect(parseJournalRef('refs/gatos/journal/demo/user/alice/x')).toBeNull();
  });
});
