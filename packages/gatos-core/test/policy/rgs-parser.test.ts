import { describe, expect, it } from 'vitest';
import { compileRgs, globToRegExp, parseRgs, renderExpr, type RgcExpr } from '../../src/index.js';

const head = 'policy "p" version 1\n';
const when = (cond: string, groups = ''): RgcExpr =>
  parseRgs(`${head}${groups}rule "r" allow when ${cond} because "x"\n`).rules[0]!.when;

describe('.rgs parser', () => {
  it('compiles the header, groups (sorted, unique) and rules in source order', () => {
    const rgc = parseRgs(
      `policy "lab" version 12\n# comment\ngroup zz = ["user:b", "user:a",]\ngroup aa = []\n` +
        `rule "second" deny because "d"\nrule "first" allow when actor in group zz because "a \\"q\\" \\\\ \\n \\t"\n`,
    );
    expect(rgc).toEqual({
      format: 'gatos.rgc/1',
      name: 'lab',
      version: 12,
      groups: { aa: [], zz: ['user:a', 'user:b'] },
      rules: [
        { id: 'second', effect: 'deny', when: ['true'], because: 'd' },
        {
          id: 'first',
          effect: 'allow',
          when: ['in_group', ['get', ['actor']], 'zz'],
          because: 'a "q" \\ \n \t',
        },
      ],
    });
    expect(Object.keys(rgc.groups)).toEqual(['aa', 'zz']);
  });

  it('parses every condition form', () => {
    expect(when('ref matches "refs/gatos/journal/**"')).toEqual([
      'matches',
      ['get', ['ref']],
      'refs/gatos/journal/**',
    ]);
    expect(when('event.type in ["a.b", "c.d"]')).toEqual([
      'in',
      ['get', ['event', 'type']],
      ['lit', ['a.b', 'c.d']],
    ]);
    expect(when('"lab.write" in caps')).toEqual(['in', ['lit', 'lab.write'], ['get', ['event', 'caps']]]);
    expect(when('payload.a.b <= -3')).toEqual([
      'cmp',
      '<=',
      ['get', ['event', 'payload', 'a', 'b']],
      ['lit', -3],
    ]);
    expect(when('payload.f != false')).toEqual([
      'cmp',
      '!=',
      ['get', ['event', 'payload', 'f']],
      ['lit', false],
    ]);
    expect(when('payload.group exists')).toEqual(['exists', ['event', 'payload', 'group']]);
    expect(when('event.ulid > "01"')).toEqual(['cmp', '>', ['get', ['event', 'ulid']], ['lit', '01']]);
    expect(when('1 < payload.n')).toEqual(['cmp', '<', ['lit', 1], ['get', ['event', 'payload', 'n']]]);
    expect(when('payload.x in payload.list')).toEqual([
      'in',
      ['get', ['event', 'payload', 'x']],
      ['get', ['event', 'payload', 'list']],
    ]);
    expect(when('approvals(group g) >= 2', 'group g = ["user:a"]\n')).toEqual(['quorum', 'g', '>=', 2]);
    expect(when('payload.n in []')).toEqual(['in', ['get', ['event', 'payload', 'n']], ['lit', []]]);
  });

  it('not binds tighter than and/or; and/or chains flatten; parentheses group', () => {
    const a = 'actor == "user:a"';
    const b = 'ref == "b"';
    const c = 'ref == "c"';
    const A = ['cmp', '==', ['get', ['actor']], ['lit', 'user:a']];
    const B = ['cmp', '==', ['get', ['ref']], ['lit', 'b']];
    const C = ['cmp', '==', ['get', ['ref']], ['lit', 'c']];
    expect(when(`not ${a} and ${b}`)).toEqual(['and', ['not', A], B]);
    expect(when(`not (${a} and ${b})`)).toEqual(['not', ['and', A, B]]);
    expect(when(`${a} or not ${b} or ${c}`)).toEqual(['or', A, ['not', B], C]);
    expect(when(`(${a} or ${b}) and ${c}`)).toEqual(['and', ['or', A, B], C]);
    expect(when(`${a} or (${b} and ${c})`)).toEqual(['or', A, ['and', B, C]]);
    expect(when(`not not ${a}`)).toEqual(['not', ['not', A]]);
    expect(when(`((${a}))`)).toEqual(A);
    expect(() => when(`${a} and ${b} or ${c}`)).toThrow(/"or" after "and" needs parentheses/);
    expect(() => when(`${a} or ${b} and ${c}`)).toThrow(/"and" after "or" needs parentheses/);
  });

  it('renders IR back to source that compiles to the same IR', () => {
    for (const src of [
      'not (actor == "user:a" or ref matches "refs/*/x") and payload.n >= 3',
      '(caps exists or "c" in caps) and not approvals(group g) >= 2',
      'event.type in ["a", 1, true] or payload.a.b != "q\\"x"',
    ]) {
      const e = when(src, 'group g = []\n');
      expect(when(renderExpr(e), 'group g = []\n')).toEqual(e);
    }
  });

  it('the root ignores comments, layout and the file name, and changes with any rule', () => {
    const a = compileRgs(`${head}rule "r" allow when ref == "x" because "y"\n`, { file: 'a.rgs' });
    const b = compileRgs(`# c\n${head}\n\nrule "r"\n  allow\n  when ref == "x" # why\n  because "y"`, {
      file: 'b.rgs',
    });
    expect(b.policyCodeRoot).toBe(a.policyCodeRoot);
    expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes))).toBe(true);
    expect(a.policyCodeRoot).toMatch(/^[0-9a-f]{64}$/);
    const c = compileRgs(`${head}rule "r" allow when ref == "x" because "z"\n`);
    expect(c.policyCodeRoot).not.toBe(a.policyCodeRoot);
  });

  it('reports errors with line, column and a caret', () => {
    try {
      compileRgs(`${head}group g = ["user:a"]\nrule "r" allow\n  when actor in group h\n  because "x"\n`, {
        file: 'x.rgs',
      });
      expect.unreachable();
    } catch (e) {
      const err = e as { code: string; message: string; data: Record<string, unknown>; hint?: string };
      expect(err.code).toBe('GATOS_E_POLICY_COMPILE');
      expect(err.data).toMatchObject({ file: 'x.rgs', line: 4, column: 23 });
      expect(err.message).toBe(
        'x.rgs:4:23: unknown group h\n    when actor in group h\n                        ^',
      );
      expect(err.hint).toBe('defined groups: g');
    }
  });
});

describe('glob patterns', () => {
  const cases: [string, string, boolean][] = [
    ['refs/gatos/journal/**', 'refs/gatos/journal/lab/user/alice', true],
    ['refs/gatos/journal/**', 'refs/gatos/journal', true],
    ['refs/gatos/journal/**', 'refs/gatos/journalx/a', false],
    ['refs/*/x', 'refs/a/x', true],
    ['refs/*/x', 'refs/a/b/x', false],
    ['refs/*/x', 'refs//x', false],
    ['**/frozen/**', 'refs/gatos/frozen/a', true],
    ['**/frozen/**', 'frozen', true],
    ['a/**/b', 'a/b', true],
    ['a/**/b', 'a/1/2/b', true],
    ['a/**/b', 'a/1/2/c', false],
    ['refs/heads/feat-*', 'refs/heads/feat-', true],
    ['refs/heads/feat-*', 'refs/heads/feat-x/y', false],
    ['refs/heads/v1.2', 'refs/heads/v1x2', false],
    ['**', 'anything/at/all', true],
  ];
  it.each(cases)('%s ~ %s = %s', (p, ref, want) => {
    expect(globToRegExp(p).test(ref)).toBe(want);
  });
});
