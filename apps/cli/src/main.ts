import { readFileSync } from 'node:fs';
import { classifyCommand, classifyHelp } from './commands/classify.js';
import { evalCommand, evalHelp } from './commands/eval.js';
import { exportCommand, exportHelp } from './commands/export.js';
import { modelsCommand, modelsHelp } from './commands/models.js';
import { preprocessCommand, preprocessHelp } from './commands/preprocess.js';
import { runCommand, runHelp } from './commands/run.js';
import { serveCommand, serveHelp } from './commands/serve.js';
import { summaryCommand, summaryHelp } from './commands/summary.js';
import { trainCommand, trainHelp } from './commands/train.js';
import { describeError, UsageError } from './errors.js';

type Command = (argv: string[], out: (s: string) => void, err: (s: string) => void) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string }> = {
  models: { run: modelsCommand, help: modelsHelp },
  summary: { run: summaryCommand, help: summaryHelp },
  run: { run: runCommand, help: runHelp },
  classify: { run: classifyCommand, help: classifyHelp },
  preprocess: { run: preprocessCommand, help: preprocessHelp },
  export: { run: exportCommand, help: exportHelp },
  train: { run: trainCommand, help: trainHelp },
  eval: { run: evalCommand, help: evalHelp },
  serve: { run: serveCommand, help: serveHelp },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export const USAGE = `cardinal: ResNet / ResNeXt / SE-ResNeXt / SKNet / ResNeSt in TypeScript

usage: cardinal <command> [options]    (cardinal <command> --help for its options)

commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.help.split('\n')[0]}`)
  .join('\n')}`;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Runs the CLI; returns the exit code. User mistakes print one line, never a stack trace. */
export async function main(
  argv: string[],
  io: Io = { out: (s) => console.log(s), err: (s) => console.error(s) },
): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      io.out(USAGE);
      return name ? 0 : 2;
    }
    if (name === '--version' || name === '-v') {
      io.out(version());
      return 0;
    }
    const cmd = COMMANDS[name];
    if (!cmd)
      throw new UsageError(`unknown command '${name}'; commands: ${Object.keys(COMMANDS).join(', ')}`);
    return await cmd.run(rest, io.out, io.err);
  } catch (e) {
    const { line, code, internal } = describeError(e);
    io.err(`cardinal: error: ${line}`);
    if (internal && process.env.CARDINAL_DEBUG) io.err((e as Error).stack ?? '');
    else if (internal) io.err('cardinal: this is a bug; set CARDINAL_DEBUG=1 for the stack trace');
    return code;
  }
}
