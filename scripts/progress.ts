import cliProgress from "cli-progress";

/**
 * The one progress policy: a spinner on stderr for the steps that take seconds (planning, live
 * prices, status, sweep), only when stderr is a terminal and the output is not `--json`; `NO_COLOR`
 * (set and not empty) turns colour off. It starts at once: a delay timer would not fire while a
 * synchronous step (compiling the program) holds the event loop, so a slow step would show nothing.
 */
const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export const showsProgress = (stderr: { isTTY?: boolean }, json: boolean | undefined): boolean => stderr.isTTY === true && !json;
export const usesColour = (env: NodeJS.ProcessEnv): boolean => !env.NO_COLOR;

/** Runs `work`, showing `label` with a spinner while it lasts (when the policy allows). */
export async function withSpinner<T>(label: string, options: { json?: boolean }, work: () => Promise<T>): Promise<T> {
  if (!showsProgress(process.stderr, options.json)) return work();
  const colour = usesColour(process.env);
  const bar = new cliProgress.SingleBar({ format: `{spinner} ${label} {duration}s`, stream: process.stderr, hideCursor: true, clearOnComplete: true, fps: 10 });
  let frame = 0;
  const spinner = () => (colour ? `\x1b[36m${FRAMES[frame % FRAMES.length]}\x1b[39m` : FRAMES[frame % FRAMES.length]);
  bar.start(1, 0, { spinner: spinner() });
  const ticker = setInterval(() => {
    frame++;
    bar.update(0, { spinner: spinner() });
  }, 100);
  try {
    return await work();
  } finally {
    clearInterval(ticker);
    bar.stop();
  }
}
