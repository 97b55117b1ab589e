// A GATOS job program: counts words in every input file and writes one JSON report.
// It reads only $GATOS_JOB_INPUTS and writes only $GATOS_JOB_OUTPUTS, so its outputs depend on its inputs alone.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const inputs = process.env.GATOS_JOB_INPUTS;
const outputs = process.env.GATOS_JOB_OUTPUTS;
const minLength = Number(process.argv[2] ?? '1');
const report = {};
// Sorted by name: directory order is the file system's, not ours.
for (const name of readdirSync(inputs).sort()) {
  const words = readFileSync(join(inputs, name), 'utf8')
    .split(/[^A-Za-z0-9']+/)
    .filter((w) => w.length >= minLength);
  report[name] = { words: words.length, distinct: new Set(words.map((w) => w.toLowerCase())).size };
}
writeFileSync(join(outputs, 'counts.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log(`counted ${Object.keys(report).length} file(s)`);
