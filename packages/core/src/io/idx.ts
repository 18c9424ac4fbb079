import { DataError } from '../errors.js';

/** An IDX array (MNIST's format): unsigned bytes with their dimensions. */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/**
 * Reads an (uncompressed) IDX file: a big-endian magic `0x0000 08 <rank>` (type 0x08, unsigned
 * byte: what MNIST and Fashion-MNIST use), `rank` big-endian u32 dimensions, then the data.
 * The declared size is checked against the bytes before anything is allocated; the data is
 * a view of `bytes`, not a copy.
 */
export function readIdx(bytes: Uint8Array, source: string): IdxArray {
  if (bytes.length < 4) throw new DataError(`${source}: ${bytes.length} bytes, too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = (magic >>> 8) & 0xff;
  const rank = magic & 0xff;
  if (magic >>> 16 !== 0 || rank === 0 || rank > 4)
    throw new DataError(
      `${source}: not an IDX file (magic 0x${magic.toString(16).padStart(8, '0')}; expected 0x000008 followed by a rank of 1 to 4)`,
    );
  if (type !== 0x08)
    throw new DataError(
      `${source}: IDX data type 0x${type.toString(16).padStart(2, '0')} is not supported (unsigned bytes, 0x08, only)`,
    );
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new DataError(`${source}: truncated IDX header (${bytes.length} bytes)`);
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = shape.reduce((a, d) => a * d, 1);
  if (bytes.length - header !== size)
    throw new DataError(
      `${source}: IDX dimensions [${shape.join(', ')}] need ${size} bytes of data, the file has ${bytes.length - header}`,
    );
  return { shape, data: bytes.subarray(header, header + size) };
}

/** Images [N, H, W] and labels [N] of one split, checked to agree. */
export function idxImagesAndLabels(
  images: IdxArray,
  labels: IdxArray,
  sources: { images: string; labels: string },
): { images: IdxArray; labels: Uint8Array } {
  if (images.shape.length !== 3)
    throw new DataError(`${sources.images}: images must be [N, H, W], got [${images.shape.join(', ')}]`);
  if (labels.shape.length !== 1)
    throw new DataError(`${sources.labels}: labels must be [N], got [${labels.shape.join(', ')}]`);
  if (images.shape[0] !== labels.shape[0])
    throw new DataError(
      `${sources.labels}: ${labels.shape[0]} labels for the ${images.shape[0]} images of ${sources.images}`,
    );
  return { images, labels: labels.data };
}
