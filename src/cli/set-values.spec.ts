import { describe, expect, it } from '@jest/globals';
import { parseSetArguments, parseSetValue, SetArgumentError } from './set-values.js';

describe('--set values', () => {
  it('reads numbers, booleans, null and flow collections typed, the rest as strings', () => {
    expect(parseSetValue('3e-4')).toBe(0.0003);
    expect(parseSetValue('1e-3')).toBe(0.001);
    expect(parseSetValue('64')).toBe(64);
    expect(parseSetValue('-2')).toBe(-2);
    expect(parseSetValue('true')).toBe(true);
    expect(parseSetValue('null')).toBeNull();
    expect(parseSetValue('adamw')).toBe('adamw');
    expect(parseSetValue('[a100, nvlink]')).toEqual(['a100', 'nvlink']);
    expect(parseSetValue('{kernel: 5, stride: 1, padding: 2}')).toEqual({ kernel: 5, stride: 1, padding: 2 });
    expect(parseSetValue('/data/weights.pth')).toBe('/data/weights.pth');
    // Not YAML: kept as the text the user typed.
    expect(parseSetValue('[unclosed')).toBe('[unclosed');
    expect(parseSetValue('')).toBe('');
    // YAML 1.2 core: yes/no are strings, not booleans.
    expect(parseSetValue('yes')).toBe('yes');
  });

  it('parses PATH=VALUE lists, the value may contain "="', () => {
    expect(parseSetArguments(['optim.lr=3e-4', 'train.epochs=20', 'data.path=/a=b'])).toEqual({ 'optim.lr': 0.0003, 'train.epochs': 20, 'data.path': '/a=b' });
    expect(parseSetArguments([])).toEqual({});
  });

  it('refuses malformed arguments with the argument in the message', () => {
    expect(() => parseSetArguments(['optim.lr'])).toThrow(new SetArgumentError('--set optim.lr: expected PATH=VALUE, e.g. --set optim.lr=3e-4'));
    expect(() => parseSetArguments(['=3'])).toThrow(SetArgumentError);
    expect(() => parseSetArguments(['optim..lr=3'])).toThrow('"optim..lr" is not a dotted path like optim.lr');
    expect(() => parseSetArguments(['optim.lr=1', 'optim.lr=2'])).toThrow('--set optim.lr is given twice');
  });
});
