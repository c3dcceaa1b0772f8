import { afterEach, describe, expect, it } from 'vitest';
import { parseRecord } from '../../src/codearts/record.js';
import { parseRecordTime } from '../../src/domain/time.js';

const BASE = { build_no: 7, status: 'SUCCESS', trigger_type: 'MANUAL' };

describe('record times', () => {
  const originalTz = process.env.TZ;
  afterEach(() => {
    if (originalTz === undefined) delete process.env.TZ;
    else process.env.TZ = originalTz;
  });

  // Node re-reads TZ when it is assigned, so this process now runs in UTC+8.
  it('reads a time without a UTC offset as UTC, whatever the host time zone (TZ=Asia/Shanghai)', () => {
    process.env.TZ = 'Asia/Shanghai';
    expect(new Date(2022, 9, 11, 8, 0, 0).getTimezoneOffset()).toBe(-480);
    expect(parseRecordTime('2022-10-11T08:28:42.000')).toBe(Date.UTC(2022, 9, 11, 8, 28, 42) / 1000);
    expect(parseRecordTime('2022-10-11 08:28:42')).toBe(Date.UTC(2022, 9, 11, 8, 28, 42) / 1000);
    expect(parseRecordTime('2022-10-11T08:28:42.000+08:00')).toBe(Date.UTC(2022, 9, 11, 0, 28, 42) / 1000);
    expect(parseRecordTime('2022-10-11T08:28:42.000+0800')).toBe(Date.UTC(2022, 9, 11, 0, 28, 42) / 1000);
    expect(parseRecordTime('2020-01-04T09:05:22.701000Z')).toBe(Date.UTC(2020, 0, 4, 9, 5, 22, 701) / 1000);
    for (const junk of ['10/11/2022 08:28', 'yesterday', '2022-10-11', '1665476922']) expect(parseRecordTime(junk), junk).toBeUndefined();
    const record = parseRecord('j', 7, {
      ...BASE,
      create_time: '2022-10-11T08:28:42.000',
      start_time: '2022-10-11T08:28:47.000',
      finish_time: '2022-10-11T08:30:27.000',
    });
    expect(record.createdAt).toBe(Date.UTC(2022, 9, 11, 8, 28, 42) / 1000);
    expect([record.queueSeconds, record.durationSeconds]).toEqual([5, 100]);
  });

  it('a build aborted while queued: aborted, queue time create -> finish, no duration, no problem', () => {
    const record = parseRecord('j', 7, {
      ...BASE,
      status: 'ABORTED',
      create_time: '2022-10-11T08:28:42.000+00:00',
      start_time: null,
      finish_time: '2022-10-11T08:30:02.000+00:00',
      duration: 0,
    });
    expect(record.phase).toMatchObject({ finished: true, result: 'aborted' });
    expect(record.queueSeconds).toBe(80);
    expect(record.durationSeconds).toBeUndefined();
    expect(record.problems).toEqual([]);
    // A successful build without a start time is still a data problem.
    const odd = parseRecord('j', 7, { ...BASE, create_time: '2022-10-11T08:28:42Z', finish_time: '2022-10-11T08:30:02Z', duration: 0 });
    expect(odd.problems).toEqual(['duration: no duration and no start/finish times']);
  });

  it('numbers as strings where deployments vary: duration, use_private_slave, build_no', () => {
    const record = parseRecord('j', 7, {
      ...BASE,
      build_no: '7',
      duration: '100068',
      use_private_slave: '1',
      start_time: '2022-10-11T08:28:47Z',
      finish_time: '2022-10-11T08:30:27Z',
    });
    expect(record.durationSeconds).toBe(100.068);
    expect(record.labels.executor).toBe('custom');
  });
});
