import { describe, expect, it } from 'vitest';
import { consoleLink, DEFAULT_CONSOLE_URL, parseConsoleUrl, type ConsoleUrlTemplate } from '../../src/domain/console-link.js';

const JOB = 'a0000000000000000000000000000001';
const PROJECT = 'f0000000000000000000000000000001';

function template(text: string): ConsoleUrlTemplate {
  const parsed = parseConsoleUrl(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.template;
}

describe('codearts.console_url templates', () => {
  it('splits a job link around {build_no}: the default puts the build number last', () => {
    expect(consoleLink(template(DEFAULT_CONSOLE_URL), { region: 'cn-north-4', jobId: JOB })).toEqual({
      prefix: `https://devcloud.cn-north-4.huaweicloud.com/cloudbuild/index.html#/job/${JOB}/build/`,
      suffix: '',
    });
  });

  it('fills every placeholder, on both sides of the build number', () => {
    const link = consoleLink(template('https://c.example.com/{region}/{project_id}/{job_id}/{build_no}/log?job={job_id}&r={region}'), {
      region: 'ap-southeast-3',
      jobId: JOB,
      projectId: PROJECT,
    });
    expect(link).toEqual({ prefix: `https://c.example.com/ap-southeast-3/${PROJECT}/${JOB}/`, suffix: `/log?job=${JOB}&r=ap-southeast-3` });
    expect(`${link?.prefix}42${link?.suffix}`).toBe(
      `https://c.example.com/ap-southeast-3/${PROJECT}/${JOB}/42/log?job=${JOB}&r=ap-southeast-3`,
    );
  });

  it('gives no link for a job whose project is unknown when the template needs it', () => {
    expect(
      consoleLink(template('https://c.example.com/{project_id}/{job_id}/{build_no}'), { region: 'cn-north-4', jobId: JOB }),
    ).toBeUndefined();
  });

  it('names what is wrong', () => {
    expect(parseConsoleUrl('https://x/{jobid}/{build_no}')).toEqual({
      error: 'unknown placeholder {jobid} (known: {region}, {job_id}, {project_id}, {build_no})',
    });
    expect(parseConsoleUrl('https://x/{}/{build_no}')).toEqual({
      error: 'unknown placeholder {} (known: {region}, {job_id}, {project_id}, {build_no})',
    });
    expect(parseConsoleUrl('https://x/{job_id}')).toMatchObject({ error: expect.stringContaining('{build_no} exactly once (found 0)') });
  });
});
