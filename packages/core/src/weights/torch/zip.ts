import { CheckpointError } from '../../errors.js';

/** One member of a zip archive, located but not read. */
export interface ZipEntry {
  name: string;
  /** Offset of the member's data in the archive. */
  offset: number;
  size: number;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const ZIP64_EXTRA = 0x0001;
const MAX_ENTRIES = 1_000_000;

/**
 * Reads the central directory of a zip archive as torch.save writes it (members stored, not
 * compressed; zip64 when large). Every member's declared extent is checked against the
 * archive's real size before anything is read, so a zip bomb or a member larger than its file
 * is refused; compressed and encrypted members are refused too (torch never writes them).
 * Written here rather than taken from a zip library: the ones on npm inflate whole archives or
 * need a Node stream, and none checks declared sizes against the file before allocating.
 */
export function readZipDirectory(bytes: Uint8Array, source: string): Map<string, ZipEntry> {
  const fail = (why: string): never => {
    throw new CheckpointError(`${source}: ${why}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number) => view.getUint16(o, true);
  const u32 = (o: number) => view.getUint32(o, true);
  const u64 = (o: number) => {
    const v = view.getBigUint64(o, true);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(v);
  };
  // The end-of-central-directory record: in the last 22 + 65535 bytes.
  let eocd = -1;
  for (let o = bytes.byteLength - 22; o >= Math.max(0, bytes.byteLength - 22 - 65_535); o--) {
    if (u32(o) === EOCD) {
      eocd = o;
      break;
    }
  }
  if (eocd < 0) fail('truncated or not a zip archive (no end-of-central-directory record)');
  let count = u16(eocd + 10);
  let dirSize = u32(eocd + 12);
  let dirOffset = u32(eocd + 16);
  if (eocd >= 20 && u32(eocd - 20) === EOCD64_LOCATOR) {
    const at = u64(eocd - 12);
    if (!(at + 56 <= bytes.byteLength) || u32(at) !== EOCD64)
      fail('corrupt zip64 end-of-central-directory record');
    count = u64(at + 32);
    dirSize = u64(at + 40);
    dirOffset = u64(at + 48);
  }
  if (count > MAX_ENTRIES) fail(`archive claims ${count} members`);
  if (!(dirOffset + dirSize <= bytes.byteLength))
    fail('central directory lies beyond the end of the file (truncated?)');
  const entries = new Map<string, ZipEntry>();
  let o = dirOffset;
  for (let i = 0; i < count; i++) {
    if (o + 46 > bytes.byteLength || u32(o) !== CENTRAL) fail('corrupt central directory');
    const flags = u16(o + 8);
    const method = u16(o + 10);
    let compressed = u32(o + 20);
    let size = u32(o + 24);
    const nameLen = u16(o + 28);
    const extraLen = u16(o + 30);
    const commentLen = u16(o + 32);
    let local = u32(o + 42);
    if (o + 46 + nameLen + extraLen + commentLen > bytes.byteLength) fail('corrupt central directory');
    const name = new TextDecoder().decode(bytes.subarray(o + 46, o + 46 + nameLen));
    // zip64: the 32-bit fields that are 0xffffffff come from the extra field, in order.
    for (let e = o + 46 + nameLen; e + 4 <= o + 46 + nameLen + extraLen; ) {
      const id = u16(e);
      const len = u16(e + 2);
      if (id === ZIP64_EXTRA) {
        let p = e + 4;
        if (size === 0xffffffff) {
          size = u64(p);
          p += 8;
        }
        if (compressed === 0xffffffff) {
          compressed = u64(p);
          p += 8;
        }
        if (local === 0xffffffff) local = u64(p);
      }
      e += 4 + len;
    }
    if (flags & 1) fail(`member '${name}' is encrypted`);
    if (method !== 0)
      fail(`member '${name}' is compressed (method ${method}); torch.save stores members uncompressed`);
    if (size !== compressed) fail(`member '${name}' declares ${size} bytes stored as ${compressed}`);
    if (!(local + 30 <= bytes.byteLength) || u32(local) !== LOCAL)
      fail(`member '${name}' has no local header`);
    const offset = local + 30 + u16(local + 26) + u16(local + 28);
    if (!(offset + size <= bytes.byteLength))
      fail(`member '${name}' declares ${size} bytes, beyond the end of the file (${bytes.byteLength} bytes)`);
    entries.set(name, { name, offset, size });
    o += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
