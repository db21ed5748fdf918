/** A mistake the person at the terminal can fix: printed without a stack trace, exit code 1. */
export class CliError extends Error {}

/** Runs a command-line tool's `run` with the process's arguments and prints its output or its CliError. */
export function runCli(run: (args: string[]) => Promise<string>): void {
  run(process.argv.slice(2)).then(
    (output) => console.log(output),
    (error: unknown) => {
      if (!(error instanceof CliError)) throw error;
      console.error(error.message);
      process.exitCode = 1;
    },
  );
}
