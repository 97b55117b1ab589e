/**
 * Bus ref names (`spec/message-bus.md`, `spec/refs-layout.md`): topics, consumer groups, segments.
 *
 * A segment is `refs/gatos/mbus/<topic>/<yyyy>/<mm>/<dd>/<seq>` with the UTC date of the moment it was opened and
 * a 6-digit sequence number that increases within the day, so segment refs sort by name in publication order.
 */
import { GatosError } from '../errors.js';

/** Topic and consumer-group names: like namespaces, one ref component. */
export const TOPIC_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Consumer group names: the same grammar as topics. */
export const GROUP_RE = TOPIC_RE;
/** Root of all segment refs. */
export const MBUS_PREFIX = 'refs/gatos/mbus/';
/** Root of all summary chains. */
export const MBUS_SUMMARY_PREFIX = 'refs/gatos/mbus-summary/';
/** Root of all consumer-group positions. */
export const MBUS_ACK_PREFIX = 'refs/gatos/mbus-ack/';
/** Segment name: `yyyy/mm/dd/seq`. */
export const SEGMENT_NAME_RE = /^(\d{4})\/(\d{2})\/(\d{2})\/(\d{6})$/;

/** Throws `GATOS_E_BUS_TOPIC` unless `topic` is a valid topic name. */
export function assertTopic(topic: string): void {
  if (typeof topic !== 'string' || !TOPIC_RE.test(topic)) {
    throw new GatosError('GATOS_E_BUS_TOPIC', `invalid topic ${JSON.stringify(topic)}`, {
      data: { topic },
      hint: 'Topics are 1-64 chars of a-z, 0-9, _ and -, starting with a letter or digit.',
    });
  }
}

/** Throws `GATOS_E_BUS_GROUP` unless `group` is a valid consumer group name. */
export function assertGroup(group: string): void {
  if (typeof group !== 'string' || !GROUP_RE.test(group)) {
    throw new GatosError('GATOS_E_BUS_GROUP', `invalid consumer group ${JSON.stringify(group)}`, {
      data: { group },
      hint: 'Groups are 1-64 chars of a-z, 0-9, _ and -, starting with a letter or digit.',
    });
  }
}

/** A segment name split into its UTC day and sequence number. */
export interface SegmentName {
  /** `yyyy/mm/dd` */
  day: string;
  seq: number;
}

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

/** Parses `yyyy/mm/dd/seq`, or null. */
export function parseSegmentName(name: string): SegmentName | null {
  const m = SEGMENT_NAME_RE.exec(name);
  if (!m) return null;
  return { day: `${m[1]}/${m[2]}/${m[3]}`, seq: Number(m[4]) };
}

/** The prefix under which a topic's segments live (ends with `/`). */
export function segmentPrefix(topic: string): string {
  assertTopic(topic);
  return `${MBUS_PREFIX}${topic}/`;
}

/** The segment ref of a topic and segment name. */
export function segmentRef(topic: string, name: string): string {
  if (!parseSegmentName(name)) {
    throw new GatosError('GATOS_E_BUS_CORRUPT', `invalid segment name ${JSON.stringify(name)}`, {
      data: { name },
    });
  }
  return `${segmentPrefix(topic)}${name}`;
}

/** Splits a segment ref into topic and segment name, or null if it is not one. */
export function parseSegmentRef(ref: string): { topic: string; name: string } | null {
  if (!ref.startsWith(MBUS_PREFIX)) return null;
  const rest = ref.slice(MBUS_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return null;
  const topic = rest.slice(0, slash);
  const name = rest.slice(slash + 1);
  if (!TOPIC_RE.test(topic) || !parseSegmentName(name)) return null;
  return { topic, name };
}

/** The summary chain of a topic. */
export function summaryRef(topic: string): string {
  assertTopic(topic);
  return `${MBUS_SUMMARY_PREFIX}${topic}`;
}

/** The acknowledged position of a consumer group. */
export function ackRef(topic: string, group: string): string {
  assertTopic(topic);
  assertGroup(group);
  return `${MBUS_ACK_PREFIX}${topic}/${group}`;
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
