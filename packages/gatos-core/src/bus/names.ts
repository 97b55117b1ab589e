/**
 * Segment naming over time (`spec/message-bus.md`): which segment to open at a given moment. The ref names
 * themselves (topics, groups, segments, summaries, positions) are built and parsed in `ref-layout.ts`.
 */
import { GatosError } from '../errors.js';
import { parseSegmentName } from '../ref-layout.js';

/** `yyyy/mm/dd` of an instant, in UTC. */
export function segmentDay(now: Date): string {
  const iso = now.toISOString();
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}`;
}

/** `yyyy/mm/dd/seq` with `seq` zero-padded to 6 digits. */
export function formatSegmentName(day: string, seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 0 || seq > 999_999) {
    throw new GatosError('GATOS_E_BUS_LIMIT', `segment sequence ${seq} is out of range for one day`, {
      data: { day, seq },
      hint: 'More than a million segments in one UTC day: raise max_messages_per_segment.',
    });
  }
  return `${day}/${String(seq).padStart(6, '0')}`;
}

/**
 * The name of the segment to open at `now`, after the newest segment name known for the topic (live or
 * summarized): the next sequence number on the same day, else `000000` of the new day.
 */
export function nextSegmentName(now: Date, newest: string | null): string {
  const day = segmentDay(now);
  const last = newest ? parseSegmentName(newest) : null;
  if (last && last.day >= day) {
    // Same day (or a clock behind the newest segment): keep the newest day so names stay increasing.
    return formatSegmentName(last.day, last.seq + 1);
  }
  return formatSegmentName(day, 0);
}
