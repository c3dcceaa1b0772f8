/** What a command may touch of the outside world; passed in so tests stay hermetic. */
export interface CommandIo {
  env: NodeJS.ProcessEnv;
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

/** Exit code for invalid configuration or arguments. */
export const EXIT_INVALID_CONFIG = 2;
