import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_TOKEN } from '../simulator/options.js';

/** Defaults of the `simulate` command; --speed 1 is real time (see the command's help). */
export const SIMULATE_DEFAULTS = {
  port: 0,
  host: '127.0.0.1',
  jobs: 3,
  seed: 1,
  speed: 1,
  latency: 0,
  token: DEFAULT_TOKEN,
  every: 300,
} as const;

/** The options of `simulate`, each validated as it is parsed (a bad value exits 2). */
export function simulateOptions(): Option[] {
  const d = SIMULATE_DEFAULTS;
  return [
    new Option('--port <n>', 'port to listen on; 0 picks a free port').default(d.port).argParser(number('port', true)),
    new Option('--host <address>', 'interface to bind (0.0.0.0 in a container)').default(d.host),
    new Option('--jobs <n>', 'number of generated jobs').default(d.jobs).argParser(number('jobs', true)),
    new Option('--seed <n>', 'random seed: the same seed gives the same job ids and builds')
      .default(d.seed)
      .argParser(number('seed', true)),
    new Option('--speed <x>', 'virtual seconds per real second (1 = real time)').default(d.speed).argParser(positive('speed')),
    new Option('--latency <ms>', 'milliseconds added to every response').default(d.latency).argParser(number('latency', false)),
    new Option('--token <token>', 'the X-Auth-Token the API accepts (a public test value, not a secret)').default(d.token),
    new Option('--every <seconds>', 'mean simulated seconds between new builds of a job; 0 = no new builds')
      .default(d.every)
      .argParser(number('every', false)),
  ];
}

function number(flag: string, integer: boolean): (raw: string) => number {
  return (raw) => {
    const value = Number(raw);
    const ok = raw.trim() !== '' && Number.isFinite(value) && value >= 0 && (!integer || Number.isInteger(value));
    if (!ok)
      throw new InvalidArgumentError(`--${flag} must be a ${integer ? 'non-negative integer' : 'non-negative number'}, got '${raw}'`);
    return value;
  };
}

function positive(flag: string): (raw: string) => number {
  return (raw) => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value <= 0)
      throw new InvalidArgumentError(`--${flag} must be a number > 0, got '${raw}'`);
    return value;
  };
}
