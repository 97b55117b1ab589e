import { describe, expect, it } from 'vitest';
import { isGatosError } from '../../src/errors.js';
import { lintFindings, lintFold, tokenizeLua } from '../../src/fold/echolua-lint.js';

const names = (src: string) => lintFindings(src).map((f) => `${f.line}:${f.name}`);

describe('Lua tokenizer', () => {
  it('splits names, keywords, numbers, strings and operators, with lines', () => {
    const toks = tokenizeLua('local x = 0x1p4 + 3e-2 .. "a\\"b" -- c\nreturn x ~= ... // 2');
    expect(toks.map((t) => `${t.line}${t.kind[0]}:${t.value}`)).toEqual([
      '1k:local',
      '1n:x',
      '1o:=',
      '1n:0x1p4',
      '1o:+',
      '1n:3e-2',
      '1o:..',
      '1s:a\\"b',
      '2k:return',
      '2n:x',
      '2o:~=',
      '2o:...',
      '2o://',
      '2n:2',
    ]);
  });

  it('skips long strings and long comments of any level, counting their lines', () => {
    const src = '--[==[ pairs(\n ]] still comment\n]==]\nlocal s = [[\npairs(x)]]\nx = [=[ a ]] b ]=] y';
    const toks = tokenizeLua(src);
    expect(toks.filter((t) => t.kind === 'string').map((t) => [t.line, t.value])).toEqual([
      [4, '\npairs(x)'],
      [6, ' a ]] b '],
    ]);
    expect(toks.at(-1)).toMatchObject({ value: 'y', line: 6 });
  });

  it('counts \\r\\n, \\n\\r and lone \\r as one line each', () => {
    const toks = tokenizeLua('a\r\nb\n\rc\rd');
    expect(toks.map((t) => t.line)).toEqual([1, 2, 3, 4]);
  });

  it('handles escaped newlines and \\z inside strings', () => {
    const toks = tokenizeLua('s = "a\\\nb" t = "c\\z\n   d" u');
    expect(toks.at(-1)).toMatchObject({ value: 'u', line: 3 });
  });

  it('rejects unfinished strings and comments', () => {
    for (const src of ['x = "abc', 'x = "a\nb"', 'x = [[ abc', '--[[ abc']) {
      try {
        tokenizeLua(src);
        expect.unreachable(src);
      } catch (e) {
        expect(isGatosError(e, 'GATOS_E_FOLD_LINT')).toBe(true);
      }
    }
  });
});

describe('fold lint', () => {
  it('flags forbidden globals and library members with their lines', () => {
    expect(
      names('for k in pairs(t) do end\nlocal t = os.time()\nx = math.random(3)\ny = string.dump(f)'),
    ).toEqual(['1:pairs', '2:os', '3:math.random', '4:string.dump']);
    expect(
      names('local r = math["random"]\nlocal g = _G\nlocal e = _ENV\nsetmetatable({}, {})\nrawset(t, 1, 2)'),
    ).toEqual(['1:math.random', '2:_G', '3:_ENV', '4:setmetatable', '5:rawset']);
    expect(
      names('string.gsub(s, "a", "b") string.match(s, ".") coroutine.wrap(f) load("x") require("m")'),
    ).toEqual(['1:string.gsub', '1:string.match', '1:coroutine', '1:load', '1:require']);
  });

  it('allows the same words in strings, comments, fields and table keys', () => {
    const src = [
      'local s = "pairs(t) os.time() math.random"',
      'local l = [[next(t)]] -- pairs(t)',
      '--[[ load("x") ]]',
      'local t = { next = 1, pairs = 2; print = 3 }',
      'local v = t.next + t.pairs + obj:print()',
      'local u = { [1] = 2, os = "x" }',
      'local r = math.floor(1.5) + string.len(s) + table.concat(u)',
    ].join('\n');
    expect(names(src)).toEqual([]);
  });

  it('throws GATOS_E_FOLD_LINT with the first finding', () => {
    try {
      lintFold('local a = 1\nprint(a)\nnext(t)', 'demo');
      expect.unreachable();
    } catch (e) {
      expect(isGatosError(e, 'GATOS_E_FOLD_LINT')).toBe(true);
      const err = e as { message: string; data: Record<string, unknown> };
      expect(err.message).toBe("demo:2: 'print' is not available in EchoLua: use log(...) for diagnostics");
      expect(err.data['line']).toBe(2);
      expect(err.data['name']).toBe('print');
      expect((err.data['findings'] as unknown[]).length).toBe(2);
    }
    expect(() => lintFold('function fold(s, e) return s end')).not.toThrow();
  });
});
