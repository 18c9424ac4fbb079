import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '..', 'dist', 'bin.js');
const tmp = mkdtempSync(join(tmpdir(), 'cardinal-kill-'));
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

interface Run {
  child: ChildProcess;
  /** Settles when the process exits; attached at spawn so an early exit is not missed. */
  exited: Promise<number | null>;
}

function exportRun(out: string): Run {
  const child = spawn(
    process.execPath,
    [BIN, 'export', 'resnext50_32x4d', '--format', 'onnx', '--out', out, '--force', '--json'],
    { stdio: 'ignore' },
  );
  return { child, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
}

const wait = (run: Run) => run.exited;

describe.skipIf(!existsSync(BIN))('an export killed with SIGKILL', () => {
  it('leaves the previous file or the complete new one, never a partial file', async () => {
    // A complete export first, to know its size and how long one takes.
    const complete = join(tmp, 'complete.onnx');
    const t0 = performance.now();
    expect(await wait(exportRun(complete))).toBe(0);
    const duration = performance.now() - t0;
    const completeSize = statSync(complete).size;
    const completeHash = sha(complete);

    const target = join(tmp, 'model.onnx');
    const previous = 'the previous model, which must survive\n';
    const fractions = [0.3, 0.6, 0.8, 0.9, 0.95, 0.98, 1.0, 1.02];
    const outcomes: string[] = [];
    for (const f of fractions) {
      writeFileSync(target, previous);
      const run = exportRun(target);
      await new Promise((r) => setTimeout(r, duration * f));
      run.child.kill('SIGKILL');
      await wait(run);
      const size = statSync(target).size;
      if (size === Buffer.byteLength(previous)) {
        expect(readFileSync(target, 'utf8')).toBe(previous);
        outcomes.push('previous');
      } else {
        expect(size).toBe(completeSize);
        expect(sha(target)).toBe(completeHash);
        outcomes.push('complete');
      }
    }
    console.log(
      `interrupted writes: ${fractions.length} kills, outcomes ${outcomes.join(', ')}, partial files 0`,
    );
    // The next write clears the temporary files the killed writers left behind.
    expect(await wait(exportRun(target))).toBe(0);
    expect(readdirSync(tmp).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 300_000);
});
