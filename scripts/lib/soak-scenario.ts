// The soak's bucket traffic: what users and lifecycle rules do to a versioned bucket (uploads,
// overwrites, deletes by request and delete markers, lifecycle expirations of noncurrent versions,
// of current ones and of expired delete markers), done for real on the S3 stand-in, each answered
// with the event S3 would send. Seeded: the same seed makes the same choices.
import {
  DeleteObjectCommand,
  PutObjectCommand,
  PutObjectCommandInput,
  S3Client,
  StorageClass,
} from '@aws-sdk/client-s3';
import type { S3EventRecord } from 'aws-lambda';
import { mapBounded } from '../../handler/concurrency';
import { decodeS3Key } from '../../handler/event';
import { seededRandom } from './faults';
import { nextSequencer, s3Record } from '../../fixtures/s3-events';

/**
 * Where a key lives says what it is: the soak's fault rules answer for ssec/, kms-denied/ and
 * outage/ as S3 would for such objects (or as it does during an outage).
 */
const KINDS = {
  docs: { weight: 40, storageClass: undefined },
  images: { weight: 30, storageClass: undefined },
  archive: { weight: 5, storageClass: 'GLACIER' },
  deep: { weight: 3, storageClass: 'DEEP_ARCHIVE' },
  ssec: { weight: 5, storageClass: undefined },
  'kms-denied': { weight: 4, storageClass: undefined },
  outage: { weight: 3, storageClass: undefined },
} as const satisfies Record<string, { weight: number; storageClass?: StorageClass }>;

export type Kind = keyof typeof KINDS | 'legacy';

/** Event names, as S3 sends them (without "s3:"). */
export type EventName =
  | 'ObjectCreated:Put'
  | 'ObjectRemoved:DeleteMarkerCreated'
  | 'ObjectRemoved:Delete'
  | 'LifecycleExpiration:Delete'
  | 'LifecycleExpiration:DeleteMarkerCreated';

/** Who S3 names as the requester of lifecycle events. */
const LIFECYCLE_PRINCIPAL = 's3.amazonaws.com';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
const ELF = Buffer.concat([Buffer.from('7f454c46020101000000000000000000', 'hex'), Buffer.alloc(48)]);

/** A body and content type for a new version: text, a PNG, or an executable named like a photo. */
function contentFor(kind: Kind, n: number, random: () => number): { body: Buffer; type: string; ext: string } {
  if (kind === 'images') {
    return random() < 0.2
      ? { body: ELF, type: 'image/jpeg', ext: 'jpg' }
      : { body: PNG, type: 'image/png', ext: 'png' };
  }
  const size = n % 17 === 0 ? 0 : 20 + Math.floor(random() * 200);
  return { body: Buffer.alloc(size, `version ${n} of a ${kind} file. `), type: 'text/plain', ext: 'txt' };
}

interface Version {
  readonly versionId: string;
  readonly marker: boolean;
}

/** Counts of what the driver did, by event name (and uploads that predate the stack). */
export type OperationCounts = Record<
  EventName | 'predating' | 'overwrites' | 'archived' | 'sseC' | 'kmsDenied',
  number
>;

export class Driver {
  /** The bucket as the driver made it: each key's versions and markers, oldest first. */
  private readonly keys = new Map<string, { kind: Kind; ext: string; versions: Version[] }>();
  readonly counts: OperationCounts = {
    predating: 0,
    overwrites: 0,
    archived: 0,
    sseC: 0,
    kmsDenied: 0,
    'ObjectCreated:Put': 0,
    'ObjectRemoved:DeleteMarkerCreated': 0,
    'ObjectRemoved:Delete': 0,
    'LifecycleExpiration:Delete': 0,
    'LifecycleExpiration:DeleteMarkerCreated': 0,
  };
  private readonly random: () => number;
  private serial = 0;

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    seed: number,
  ) {
    this.random = seededRandom(seed);
  }

  private versionsOf(key: string): Version[] {
    return this.keys.get(key)?.versions ?? [];
  }

  private pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.random() * items.length)];
  }

  private drawKind(): Kind {
    const kinds = Object.entries(KINDS) as [keyof typeof KINDS, { weight: number }][];
    let roll = this.random() * kinds.reduce((sum, [, k]) => sum + k.weight, 0);
    for (const [kind, { weight }] of kinds) {
      roll -= weight;
      if (roll < 0) return kind;
    }
    return 'docs';
  }

  private record(key: string, eventName: EventName, versionId: string, extra: { size?: number; eTag?: string } = {}) {
    this.counts[eventName] += 1;
    const record = s3Record({
      bucket: this.bucket,
      key,
      eventName,
      versionId,
      sequencer: nextSequencer(),
      ...extra,
    });
    return eventName.startsWith('Lifecycle')
      ? { ...record, userIdentity: { principalId: LIFECYCLE_PRINCIPAL } }
      : record;
  }

  /** Uploads a new version of `key` (a new key of `kind`, or an overwrite); its ObjectCreated:Put. */
  async upload(key: string, kind: Kind): Promise<S3EventRecord> {
    const n = ++this.serial;
    const known = this.keys.get(key);
    const { body, type, ext } = contentFor(kind, n, this.random);
    const storageClass = kind === 'legacy' ? undefined : KINDS[kind].storageClass;
    const input: PutObjectCommandInput = {
      Bucket: this.bucket,
      Key: known ? key : `${key}.${ext}`,
      Body: body,
      ContentType: type,
      StorageClass: storageClass,
      Metadata: { uploader: `soak-${n % 7}` },
    };
    const answer = await this.s3.send(new PutObjectCommand(input));
    const fullKey = input.Key!;
    const entry = known ?? { kind, ext, versions: [] };
    entry.versions.push({ versionId: answer.VersionId ?? 'null', marker: false });
    this.keys.set(fullKey, entry);
    if (known) this.counts.overwrites += 1;
    if (storageClass) this.counts.archived += 1;
    if (kind === 'ssec') this.counts.sseC += 1;
    if (kind === 'kms-denied') this.counts.kmsDenied += 1;
    return this.record(fullKey, 'ObjectCreated:Put', answer.VersionId ?? 'null', {
      size: body.length,
      eTag: answer.ETag?.replace(/"/g, ''),
    });
  }

  /** A delete marker on `key`, by a request or by a lifecycle rule expiring the current version. */
  async deleteMarker(key: string, lifecycle: boolean): Promise<S3EventRecord> {
    const answer = await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    this.versionsOf(key).push({ versionId: answer.VersionId ?? 'null', marker: true });
    const name = lifecycle ? 'LifecycleExpiration:DeleteMarkerCreated' : 'ObjectRemoved:DeleteMarkerCreated';
    return this.record(key, name, answer.VersionId ?? 'null');
  }

  /** Removes one version or marker for good, by a request or by a lifecycle rule. */
  async deleteVersion(key: string, versionId: string, lifecycle: boolean): Promise<S3EventRecord> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
    const versions = this.versionsOf(key);
    versions.splice(
      versions.findIndex((v) => v.versionId === versionId),
      1,
    );
    return this.record(key, lifecycle ? 'LifecycleExpiration:Delete' : 'ObjectRemoved:Delete', versionId);
  }

  /** Objects uploaded before the stack existed: no event is ever sent for them. */
  async predating(count: number, concurrency: number): Promise<void> {
    await mapBounded(
      Array.from({ length: count }, (_, i) => i),
      concurrency,
      async (i) => {
        await this.upload(`legacy/${String(i).padStart(5, '0')}`, 'legacy');
        this.counts['ObjectCreated:Put'] -= 1;
        this.counts.predating += 1;
      },
    );
  }

  /**
   * One round: `uploads` uploads (a quarter of them overwrites of keys from earlier rounds), then
   * removals on other keys (a quarter of the uploads: delete markers, deletes of one version, lifecycle
   * expirations of noncurrent versions, of current versions and of expired delete markers). A key
   * sees at most one upload and one removal a round, so the model stays exact. Its events, in order.
   */
  async round(uploads: number, concurrency: number): Promise<S3EventRecord[]> {
    const earlier = [...this.keys].filter(([, k]) => k.kind !== 'legacy' || this.random() < 0.3);
    const overwritten = new Set<string>();
    const plans = Array.from({ length: uploads }, () => {
      if (this.random() < 0.25) {
        const target = this.pick(earlier);
        if (target && !overwritten.has(target[0])) {
          overwritten.add(target[0]);
          return { key: target[0], kind: target[1].kind };
        }
      }
      const kind = this.drawKind();
      return { key: `${kind}/${String(++this.serial).padStart(6, '0')}`, kind };
    });
    const created = await mapBounded(plans, concurrency, (plan) => this.upload(plan.key, plan.kind));
    const touched = new Set(created.map((r) => decodeS3Key(r.s3.object.key)));
    const candidates = [...this.keys.keys()].filter((k) => !touched.has(k));
    const removals = Array.from({ length: Math.round(uploads * 0.25) }, () => this.pick(candidates)).filter(
      (key, i, all): key is string => key !== undefined && all.indexOf(key) === i,
    );
    const removed = await mapBounded(removals, concurrency, (key) => this.removal(key));
    return [...created, ...removed.filter((r): r is S3EventRecord => r !== undefined)];
  }

  /** One removal on `key`, chosen by what the key holds. */
  private async removal(key: string): Promise<S3EventRecord | undefined> {
    const versions = this.versionsOf(key);
    const latest = versions.at(-1);
    if (!latest) return undefined;
    if (latest.marker && versions.length === 1) return this.deleteVersion(key, latest.versionId, true);
    const roll = this.random();
    const noncurrent = versions.slice(0, -1).filter((v) => !v.marker);
    if (roll < 0.25 && noncurrent.length > 0) return this.deleteVersion(key, this.pick(noncurrent)!.versionId, true);
    if (roll < 0.35 && !latest.marker) return this.deleteMarker(key, true);
    if (roll < 0.65) return this.deleteVersion(key, this.pick(versions)!.versionId, false);
    return latest.marker ? this.deleteVersion(key, latest.versionId, false) : this.deleteMarker(key, false);
  }
}
