/** Sequencers are hex strings of varying length; stored right-padded to this width so strings compare in order. */
export const SEQUENCER_WIDTH = 32;
const HEX = /^[0-9A-Fa-f]{1,32}$/;

export const isSequencer = (value: unknown): value is string => typeof value === 'string' && HEX.test(value);

/**
 * As S3 documents: right-pad the shorter value with zeros, then compare lexicographically. Padding
 * every value to one width makes the stored form comparable with a plain DynamoDB "<".
 */
export const normalizeSequencer = (sequencer: string): string => sequencer.toUpperCase().padEnd(SEQUENCER_WIDTH, '0');

/** Negative when a is older than b, zero when they are the same event, positive when a is newer. */
export const compareSequencers = (a: string, b: string): number => {
  const [x, y] = [normalizeSequencer(a), normalizeSequencer(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * The sequencer of writes that have no place of their own in S3's order for a key: a version read
 * by the operator's reconcile, or because of a transition, tagging or restore event (S3 documents
 * sequencers for creates and deletes only). Lower than any real one, so the version's own create or
 * delete event always replaces such an item.
 */
export const LOWEST_SEQUENCER = normalizeSequencer('0');
