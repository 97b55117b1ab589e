import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOk, gatos, repoWithHome, snapshot, tmp } from './helpers.js';

const conformance = join(import.meta.dirname, '../../../conformance/policy');
const compiled: { file: string; rgc_hex: string; policy_code_root: string }[] = JSON.parse(
  readFileSync(join(conformance, 'compiled.json'), 'utf8'),
);
const K = { a: 'aa'.repeat(32), b: 'bb'.repeat(32) };

function workdir(): { dir: string; env: NodeJS.ProcessEnv } {
  const { env } = repoWithHome();
  const dir = tmp('gatos-policy-');
  for (const f of ['lab.rgs', 'api-quorum.rgs']) {
    writeFileSync(join(dir, f), readFileSync(join(conformance, f)));
  }
  return { dir, env };
}

describe('git gatos policy', () => {
  it('compile writes the .rgc and prints the policy_code_root of the conformance vector', () => {
    const { dir, env } = workdir();
    const want = compiled.find((c) => c.file === 'lab.rgs')!;
    const r = expectOk(gatos(dir, env, ['policy', 'compile', 'lab.rgs']));
    expect(r.stdout.trim()).toBe(want.policy_code_root);
    expect(readFileSync(join(dir, 'lab.rgc')).toString('hex')).toBe(want.rgc_hex);
    const j = expectOk(
      gatos(dir, env, ['policy', 'compile', 'lab.rgs', '-o', 'out/../x.rgc', '--json']),
    ).json;
    expect(j).toMatchObject({
      ok: true,
      policy_code_root: want.policy_code_root,
      name: 'lab',
      version: 1,
      output: 'out/../x.rgc',
      groups: ['maintainers'],
    });
    expect(j.rules.map((x: { id: string }) => x.id)).toEqual([
      'journal-writes',
      'no-api-change-without-quorum',
      'api-change-with-quorum',
    ]);
    expect(readFileSync(join(dir, 'x.rgc')).toString('hex')).toBe(want.rgc_hex);
  });

  it('compile errors point at line and column with a caret', () => {
    const { dir, env } = workdir();
    writeFileSync(
      join(dir, 'bad.rgs'),
      'policy "p" version 1\nrule "a" allow\n  when actor in group nobody\n  because "x"\n',
    );
    const r = gatos(dir, env, ['policy', 'compile', 'bad.rgs']);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('error: bad.rgs:3:23: unknown group nobody');
    expect(r.stderr).toContain('    when actor in group nobody\n                        ^');
    const j = gatos(dir, env, ['policy', 'compile', 'bad.rgs', '--json']).json;
    expect(j.error).toMatchObject({
      code: 'GATOS_E_POLICY_COMPILE',
      data: { line: 3, column: 23, file: 'bad.rgs' },
    });
    writeFileSync(join(dir, 'syn.rgs'), 'policy "p" version 1\nrule "a allow because "x"\n');
    const s = gatos(dir, env, ['policy', 'compile', 'syn.rgs', '--json']);
    expect(s.status).toBe(3);
    expect(s.json.error).toMatchObject({ code: 'GATOS_E_POLICY_SYNTAX', data: { line: 2, column: 25 } });
  });

  it('test: exit 0 on allow, 7 with GATOS_E_POLICY_DENY on deny; .rgs and .rgc agree', () => {
    const { dir, env } = workdir();
    expectOk(gatos(dir, env, ['policy', 'compile', 'api-quorum.rgs']));
    const req = (approvals: unknown[]) =>
      JSON.stringify({
        ref: 'refs/gatos/journal/api/user/alice',
        actor: 'user:alice',
        event: { type: 'api.changed', payload: {} },
        approvals,
      });
    const two = req([
      { actor: 'user:alice', publicKey: K.a },
      { actor: 'user:bob', publicKey: K.b },
    ]);
    const sameKey = req([
      { actor: 'user:alice', publicKey: K.a },
      { actor: 'user:bob', publicKey: K.a },
    ]);
    for (const p of ['api-quorum.rgs', 'api-quorum.rgc']) {
      const ok = gatos(dir, env, ['policy', 'test', p, '--input', two]);
      expect(ok.status).toBe(0);
      expect(ok.stdout).toBe('ALLOW by rule "api-with-quorum": the council approved\n');
      const no = gatos(dir, env, ['policy', 'test', p, '--input', sameKey, '--json']);
      expect(no.status).toBe(7);
      expect(no.json).toMatchObject({
        ok: false,
        code: 'GATOS_E_POLICY_DENY',
        decision: 'deny',
        rule: 'api-needs-quorum',
        reason: 'API changes need 2 of 3 council approvals',
        policy_code_root: compiled.find((c) => c.file === 'api-quorum.rgs')!.policy_code_root,
      });
    }
    writeFileSync(join(dir, 'req.json'), two);
    expect(gatos(dir, env, ['policy', 'test', 'api-quorum.rgs', '--input', '@req.json']).status).toBe(0);
    expect(gatos(dir, env, ['policy', 'test', 'api-quorum.rgs', '--input', '-'], two).status).toBe(0);
  });

  it('test: an evaluation error denies with GATOS_E_POLICY_EVAL (fail closed)', () => {
    const { dir, env } = workdir();
    const input = JSON.stringify({
      ref: 'refs/gatos/journal/lab/user/alice',
      actor: 'user:alice',
      event: { type: 'note.created', caps: ['lab.write'], payload: { volume_ul: 'lots' } },
    });
    const r = gatos(dir, env, ['policy', 'test', 'lab.rgs', '--input', input, '--json']);
    expect(r.status).toBe(7);
    expect(r.json).toMatchObject({
      code: 'GATOS_E_POLICY_EVAL',
      decision: 'deny',
      rule: 'journal-writes',
      errors: [{ rule: 'journal-writes' }],
    });
    const h = gatos(dir, env, ['policy', 'test', 'lab.rgs', '--input', input]);
    expect(h.stdout).toContain('DENY by rule "journal-writes": evaluation error in rule "journal-writes"');
    const bad = gatos(dir, env, ['policy', 'test', 'lab.rgs', '--input', '{nope', '--json']);
    expect(bad.status).toBe(3);
    expect(bad.json.error.code).toBe('GATOS_E_INPUT_JSON');
  });

  it('explain shows every rule and condition in words', () => {
    const { dir, env } = workdir();
    const input = JSON.stringify({
      ref: 'refs/gatos/journal/lab/agent/sensor-1',
      actor: 'agent:sensor-1',
      event: { type: 'sample.registered', caps: ['lab.write'], payload: { volume_ul: 1500 } },
    });
    const r = gatos(dir, env, ['policy', 'explain', 'lab.rgs', '--input', input]);
    expect(r.status).toBe(7);
    expect(r.stdout).toContain('rule "journal-writes" (allow) does not apply');
    expect(r.stdout).toContain('[no ] actor in group maintainers   (actor is "agent:sensor-1")');
    expect(r.stdout).toContain('[yes] actor == "agent:sensor-1"');
    expect(r.stdout).toContain('[no ] payload.volume_ul <= 1000   (payload.volume_ul is 1500)');
    expect(r.stdout).toContain('decision: DENY: no rule allows');
    const j = gatos(dir, env, ['policy', 'explain', 'lab.rgs', '--input', input, '--json']).json;
    expect(j.rules).toHaveLength(3);
    expect(j.rules[0].condition.children[4]).toMatchObject({
      result: 'false',
      detail: 'payload.volume_ul is 1500',
    });
  });

  it('is listed in help and touches no repository state', () => {
    const { repo, env } = repoWithHome();
    expect(expectOk(gatos(repo, env, ['help'])).stdout).toContain('Policies: compile, test, explain');
    const before = snapshot(repo);
    writeFileSync(join(repo, 'p.rgs'), 'policy "p" version 1\nrule "a" allow because "x"\n');
    expectOk(gatos(repo, env, ['policy', 'test', 'p.rgs', '--input', '{"ref":"r","actor":"user:a"}']));
    expect(snapshot(repo)).toEqual(before);
  });
});
