import { describe, expect, it } from '@jest/globals';
import type { RunSummaryValues } from '../contracts/api.js';
import { defaultRunSpec } from '../contracts/spec.js';
import {
  chunkText,
  chunkTextAsync,
  contentDisposition,
  csvField,
  csvLine,
  exportFilename,
  flattenSpec,
  historyCsvLines,
  historyCsvLinesAsync,
  historyJsonChunks,
  historyJsonChunksAsync,
  RUN_COLUMNS,
  runsCsvLines,
  runsJson,
  runsJsonChunks,
  sanitizeFilename,
  seriesToHistoryRows,
  type HistoryRow,
  type RunExportInput,
} from './export.js';

/** A strict RFC 4180 reader, written for the test, to prove what the writer emits parses back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  let atFieldStart = true;
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (ch === '"') {
        quoted = false;
        i++;
        if (i < text.length && text[i] !== ',' && text[i] !== '\r') throw new Error(`junk after closing quote at ${i}`);
      } else {
        field += ch;
        i++;
      }
      continue;
    }
    if (ch === '"') {
      if (!atFieldStart) throw new Error(`quote inside an unquoted field at ${i}`);
      quoted = true;
      atFieldStart = false;
      i++;
    } else if (ch === ',') {
      row.push(field);
      field = '';
      atFieldStart = true;
      i++;
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      atFieldStart = true;
      i += 2;
    } else if (ch === '\n' || ch === '\r') {
      throw new Error(`bare line break in an unquoted field at ${i}`);
    } else {
      field += ch;
      atFieldStart = false;
      i++;
    }
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || row.length > 0) throw new Error('last record has no CRLF');
  return rows;
}

const LAST: RunSummaryValues = { train_loss: 0.25, train_acc: 0.9, test_acc: 0.88, macro_f1: 0.87, epoch_seconds: 12.5, images_per_s: 4000 };

function run(id: string, patch: Partial<RunExportInput> = {}): RunExportInput {
  return {
    id,
    name: `run ${id}`,
    status: 'succeeded',
    spec: defaultRunSpec(),
    created_at: '2025-01-01T00:00:00.000Z',
    started_at: '2025-01-01T00:01:00.000Z',
    ended_at: '2025-01-01T00:11:00.000Z',
    experiment_id: 'e1',
    experiment_name: 'seed study',
    attempt: 1,
    host_id: 'h1',
    devices: [0, 1],
    epochs_completed: 10,
    last: LAST,
    ...patch,
  };
}

describe('csvField / csvLine (RFC 4180)', () => {
  it('quotes only fields with a comma, quote, CR or LF, doubling inner quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
    expect(csvField(' spaced ')).toBe(' spaced ');
    expect(csvField('')).toBe('');
  });

  it('writes numbers round-trip exactly, non-finite as NaN/Infinity, null as empty, objects as JSON', () => {
    expect(csvField(0.1 + 0.2)).toBe('0.30000000000000004');
    expect(Number(csvField(1e-7))).toBe(1e-7);
    expect(csvField(NaN)).toBe('NaN');
    expect(csvField(-Infinity)).toBe('-Infinity');
    expect(Number(csvField(Infinity))).toBe(Infinity);
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField(true)).toBe('true');
    expect(csvField([1, 2])).toBe('"[1,2]"');
  });

  it('guards spreadsheet formulas only when asked, and never touches numbers', () => {
    expect(csvField('=HYPERLINK("x")')).toBe('"=HYPERLINK(""x"")"');
    expect(csvField('=1+1', { formula_guard: true })).toBe("'=1+1");
    expect(csvField('@cmd', { formula_guard: true })).toBe("'@cmd");
    expect(csvField(-3, { formula_guard: true })).toBe('-3');
    expect(csvField('plain', { formula_guard: true })).toBe('plain');
  });

  it('ends each record with CRLF and parses back to the same fields', () => {
    const fields = ['a,b', 'q"uote', 'line\r\nbreak', '', 'é ü 日本'];
    const line = csvLine(fields);
    expect(line.endsWith('\r\n')).toBe(true);
    expect(parseCsv(line)).toEqual([fields]);
  });
});

describe('runs table', () => {
  it('flattens the spec into dotted keys, keeping arrays as JSON cells', () => {
    const flat = flattenSpec(defaultRunSpec());
    expect(flat['model.arch']).toBe('resnet18');
    expect(flat['model.conv1']).toBeNull();
    expect(flat['optim.schedule.name']).toBe('none');
    expect(flat['data.normalize.mean']).toBe('[0.491,0.482,0.446]');
    expect(JSON.parse(flat['data.augment'] as string)).toHaveLength(3);
    expect(flat['resources.labels']).toBe('[]');
  });

  it('exports one CSV row per run with run, spec.* and summary.* columns that parse back', () => {
    const withConv = run('b', {
      name: 'pretrained, "conv1" 5x5',
      spec: { ...defaultRunSpec(), model: { ...defaultRunSpec().model, pretrained: true, conv1: { kernel: 5, stride: 1, padding: 2 } } },
      summary: { best_test_acc: 0.91, macro_f1: 0.5 },
    });
    const lines = [...runsCsvLines([run('a'), withConv])];
    expect(lines).toHaveLength(3);
    const [header, a, b] = parseCsv(lines.join(''));
    expect(header.slice(0, RUN_COLUMNS.length)).toEqual([...RUN_COLUMNS]);
    // Run a's null conv1 gives way to b's conv1.* columns.
    expect(header).not.toContain('spec.model.conv1');
    expect(header).toEqual(expect.arrayContaining(['spec.model.conv1.kernel', 'spec.model.pretrained', 'summary.test_acc', 'summary.best_test_acc']));
    const col = (row: string[], name: string): string => row[header.indexOf(name)];
    expect(a).toHaveLength(header.length);
    expect(col(a, 'name')).toBe('run a');
    expect(col(a, 'devices')).toBe('[0,1]');
    expect(col(a, 'spec.model.conv1.kernel')).toBe('');
    expect(col(a, 'spec.model.pretrained')).toBe('false');
    expect(col(a, 'summary.test_acc')).toBe('0.88');
    expect(col(a, 'summary.best_test_acc')).toBe('');
    expect(col(a, 'reason')).toBe('');
    expect(col(b, 'name')).toBe('pretrained, "conv1" 5x5');
    expect(col(b, 'spec.model.conv1.kernel')).toBe('5');
    expect(col(b, 'summary.macro_f1')).toBe('0.5'); // summary overrides last
    expect(Number(col(b, 'spec.optim.lr'))).toBe(0.001);
  });

  it('an empty table is just the header', () => {
    const lines = [...runsCsvLines([])];
    expect(lines).toEqual([RUN_COLUMNS.join(',') + '\r\n']);
  });

  it('exports JSON with the spec nested and streams it as valid JSON', () => {
    const runs = [run('a'), run('b', { summary: { note: 'x' } })];
    const json = runsJson(runs);
    expect(json[0].spec).toEqual(defaultRunSpec());
    expect(json[0].summary).toEqual(LAST);
    expect(json[1].summary.note).toBe('x');
    expect(json[0].reason).toBeNull();
    expect(JSON.parse([...runsJsonChunks(runs)].join(''))).toEqual(json);
    expect(JSON.parse([...runsJsonChunks([])].join(''))).toEqual([]);
  });
});

describe('history export', () => {
  const rows: HistoryRow[] = [
    { run_id: 'r1', key: 'train_loss', step: 10, epoch: 0, value: 2.302585092994046, wall_time: 1735689600.125 },
    { run_id: 'r1', key: 'train_loss', step: 20, epoch: 0, value: NaN, wall_time: 1735689601.5 },
    { run_id: 'r1', key: 'test,acc', step: 20, epoch: 0, value: Infinity, wall_time: 1735689602 },
  ];

  it('writes run_id,key,step,epoch,value,wall_time with exact numbers', () => {
    const text = [...historyCsvLines(rows)].join('');
    const parsed = parseCsv(text);
    expect(parsed[0]).toEqual(['run_id', 'key', 'step', 'epoch', 'value', 'wall_time']);
    expect(parsed[1]).toEqual(['r1', 'train_loss', '10', '0', '2.302585092994046', '1735689600.125']);
    expect(parsed[2][4]).toBe('NaN');
    expect(parsed[3][1]).toBe('test,acc');
    expect(Number(parsed[3][4])).toBe(Infinity);
  });

  it('is lazy: pulls points only as lines are consumed', () => {
    let pulled = 0;
    function* source(): Generator<HistoryRow> {
      for (let i = 0; i < 1_000_000; i++) {
        pulled++;
        yield { run_id: 'r', key: 'k', step: i, epoch: 0, value: i, wall_time: i };
      }
    }
    const it = historyCsvLines(source());
    it.next(); // header
    it.next();
    it.next();
    expect(pulled).toBe(2);
  });

  it('async variants give the same text from an async source', async () => {
    async function* source(): AsyncGenerator<HistoryRow> {
      for (const r of rows) yield r;
    }
    const csv: string[] = [];
    for await (const l of historyCsvLinesAsync(source())) csv.push(l);
    expect(csv.join('')).toBe([...historyCsvLines(rows)].join(''));
    const json: string[] = [];
    for await (const c of historyJsonChunksAsync(source())) json.push(c);
    expect(json.join('')).toBe([...historyJsonChunks(rows)].join(''));
  });

  it('JSON history turns non-finite values into null', () => {
    const parsed = JSON.parse([...historyJsonChunks(rows)].join('')) as Record<string, unknown>[];
    expect(parsed).toHaveLength(3);
    expect(parsed[0]).toEqual({ run_id: 'r1', key: 'train_loss', step: 10, epoch: 0, value: 2.302585092994046, wall_time: 1735689600.125 });
    expect(parsed[1].value).toBeNull();
    expect(parsed[2].value).toBeNull();
    expect(JSON.parse([...historyJsonChunks([])].join(''))).toEqual([]);
  });

  it('seriesToHistoryRows walks every key of a RunMetricsView series', () => {
    const out = [
      ...seriesToHistoryRows('r9', {
        lr: { step: [1, 2], epoch: [0, 0], value: [0.1, 0.05], wall_time: [5, 6] },
        test_acc: { step: [2], epoch: [0], value: [0.7], wall_time: [7] },
      }),
    ];
    expect(out).toEqual([
      { run_id: 'r9', key: 'lr', step: 1, epoch: 0, value: 0.1, wall_time: 5 },
      { run_id: 'r9', key: 'lr', step: 2, epoch: 0, value: 0.05, wall_time: 6 },
      { run_id: 'r9', key: 'test_acc', step: 2, epoch: 0, value: 0.7, wall_time: 7 },
    ]);
  });

  it('chunkText joins lines into fewer, larger pieces without changing the text', async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}\r\n`);
    const chunks = [...chunkText(lines, 1000)];
    expect(chunks.join('')).toBe(lines.join(''));
    expect(chunks.length).toBeLessThan(20);
    expect(chunks.slice(0, -1).every((c) => c.length >= 1000)).toBe(true);
    const asyncChunks: string[] = [];
    for await (const c of chunkTextAsync(lines, 1000)) asyncChunks.push(c);
    expect(asyncChunks).toEqual(chunks);
    expect([...chunkText([])]).toEqual([]);
  });
});

describe('file names and Content-Disposition', () => {
  it('removes separators, control characters, quotes and Windows-forbidden characters', () => {
    expect(sanitizeFilename('../../etc/passwd')).toBe('_.._etc_passwd');
    expect(sanitizeFilename('a\\b:c*d?e"f<g>h|i')).toBe('a_b_c_d_e_f_g_h_i');
    expect(sanitizeFilename('x\r\nSet-Cookie: y.csv')).toBe('x__Set-Cookie_ y.csv');
    expect(sanitizeFilename('  .hidden.csv  ')).toBe('hidden.csv');
    expect(sanitizeFilename('report.csv...')).toBe('report.csv');
    expect(sanitizeFilename('CON.csv')).toBe('_CON.csv');
    expect(sanitizeFilename('nul')).toBe('_nul');
    expect(sanitizeFilename('...')).toBe('export');
    expect(sanitizeFilename('', 'runs.csv')).toBe('runs.csv');
  });

  it('caps the length and keeps the extension, without splitting characters', () => {
    const long = sanitizeFilename('日'.repeat(300) + '.csv');
    expect([...long]).toHaveLength(150);
    expect(long.endsWith('日.csv')).toBe(true);
  });

  it('gives a plain filename for ASCII names and adds filename* for others', () => {
    expect(contentDisposition('runs.csv')).toBe('attachment; filename="runs.csv"');
    expect(contentDisposition('my "run".csv', 'inline')).toBe('inline; filename="my _run_.csv"');
    const h = contentDisposition("Résumé (final) 100%.csv");
    expect(h).toBe(`attachment; filename="R_sum_ (final) 100_.csv"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%28final%29%20100%25.csv`);
    expect(decodeURIComponent(h.split("UTF-8''")[1])).toBe('Résumé (final) 100%.csv');
    expect(contentDisposition('a\r\nb.csv')).not.toMatch(/[\r\n]/);
  });

  it('builds export names from kind, label, date and format', () => {
    const d = new Date('2025-03-04T05:06:07.890Z');
    expect(exportFilename({ kind: 'runs', format: 'csv', date: d })).toBe('trainyard-runs-20250304-050607.csv');
    expect(exportFilename({ kind: 'history', label: 'scratch 224/v2', format: 'json' })).toBe('trainyard-history-scratch_224_v2.json');
    expect(exportFilename({ kind: 'runs', format: 'csv', date: new Date(NaN) })).toBe('trainyard-runs.csv');
  });
});
