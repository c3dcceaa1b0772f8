/**
 * Links to a build in the CodeArts console (`codearts.console_url`, docs/configuration.md): a URL
 * template with placeholders, split per job around `{build_no}` into the prefix and suffix that
 * `codearts_job_console_link_info` carries, so a dashboard builds `prefix + build_no + suffix`.
 */

/** The placeholders a template may use. */
export const CONSOLE_URL_PLACEHOLDERS = ['region', 'job_id', 'project_id', 'build_no'] as const;
export type ConsoleUrlPlaceholder = (typeof CONSOLE_URL_PLACEHOLDERS)[number];

/**
 * The default template. Not verified against a live console: the public CodeArts documentation
 * does not give the address of a build record page; set `codearts.console_url` if yours differs.
 */
export const DEFAULT_CONSOLE_URL = 'https://devcloud.{region}.huaweicloud.com/cloudbuild/index.html#/job/{job_id}/build/{build_no}';

/** A parsed template: literal text and placeholders, in order; `{build_no}` exactly once. */
export type ConsoleUrlTemplate = ReadonlyArray<string | { placeholder: ConsoleUrlPlaceholder }>;

/** What a job's link is made of. */
export interface ConsoleLinkValues {
  region: string;
  jobId: string;
  /** The job's CodeArts project id; a template that uses `{project_id}` gives no link for a job without one. */
  projectId?: string | undefined;
}

/** The link of one job: the build's page is `prefix + build_no + suffix`. */
export interface ConsoleLink {
  prefix: string;
  suffix: string;
}

const KNOWN: readonly string[] = CONSOLE_URL_PLACEHOLDERS;
const known = (): string => CONSOLE_URL_PLACEHOLDERS.map((name) => `{${name}}`).join(', ');

/** Parses a template; the error names what is wrong (an unknown placeholder, a stray brace, `{build_no}` missing or repeated). */
export function parseConsoleUrl(template: string): { template: ConsoleUrlTemplate } | { error: string } {
  const pieces: Array<string | { placeholder: ConsoleUrlPlaceholder }> = [];
  let rest = template;
  while (rest.length > 0) {
    const open = rest.indexOf('{');
    const close = rest.indexOf('}');
    if (close >= 0 && (open < 0 || close < open)) return { error: `has a "}" without its "{" at "${rest.slice(0, close + 1)}"` };
    if (open < 0) {
      pieces.push(rest);
      break;
    }
    if (open > 0) pieces.push(rest.slice(0, open));
    const end = rest.indexOf('}', open);
    if (end < 0) return { error: `has a "{" without its "}" at "${rest.slice(open)}"` };
    const name = rest.slice(open + 1, end);
    if (!KNOWN.includes(name)) return { error: `unknown placeholder {${name}} (known: ${known()})` };
    pieces.push({ placeholder: name as ConsoleUrlPlaceholder });
    rest = rest.slice(end + 1);
  }
  const builds = pieces.filter((piece) => typeof piece !== 'string' && piece.placeholder === 'build_no').length;
  if (builds !== 1) return { error: `must contain {build_no} exactly once (found ${builds}): the dashboards put the build number there` };
  return { template: pieces };
}

/** A job's link; undefined when the template needs the job's project and it is not known. */
export function consoleLink(template: ConsoleUrlTemplate, values: ConsoleLinkValues): ConsoleLink | undefined {
  let prefix = '';
  let suffix = '';
  let afterBuild = false;
  for (const piece of template) {
    let text: string | undefined;
    if (typeof piece === 'string') text = piece;
    else if (piece.placeholder === 'build_no') afterBuild = true;
    else if (piece.placeholder === 'region') text = values.region;
    else if (piece.placeholder === 'job_id') text = values.jobId;
    else if (values.projectId) text = values.projectId;
    else return undefined;
    if (text === undefined) continue;
    if (afterBuild) suffix += text;
    else prefix += text;
  }
  return { prefix, suffix };
}
