"""The safetensors format's rules, written from its specification as an independent reference
for the fuzz test (Debian has no safetensors package): 8-byte little-endian header length N,
N bytes of UTF-8 JSON holding one object with no duplicate keys, an optional "__metadata__"
object of strings, and for every tensor {"dtype", "shape", "data_offsets": [begin, end]} with
end - begin = elements x dtype size; the tensors' byte ranges cover the data section exactly,
with no hole, overlap or trailing byte. For each path on stdin, one JSON line:
{"ok": true, "tensors": {name: {"shape": [...], "f32": base64}}} or {"ok": false, "error": ...}."""
import base64, json, struct, sys
import numpy as np

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U8": "u1", "BOOL": "?", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BF16": "<u2"}


def no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"duplicate key {k!r}")
        d[k] = v
    return d


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def read(path):
    raw = open(path, "rb").read()
    if len(raw) < 8:
        raise ValueError("no header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError("header beyond the file")
    header = json.loads(raw[8:8 + n].decode("utf-8"), object_pairs_hook=no_duplicates)
    if not isinstance(header, dict):
        raise ValueError("header not an object")
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ValueError("bad metadata")
    spans, out = [], {}
    for name, e in header.items():
        if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
            raise ValueError("bad entry")
        dt, shape, offs = e["dtype"], e["shape"], e["data_offsets"]
        if dt not in DTYPES:
            raise ValueError("dtype")
        if not isinstance(shape, list) or not all(is_uint(d) for d in shape):
            raise ValueError("shape")
        if not isinstance(offs, list) or len(offs) != 2 or not all(is_uint(o) for o in offs) or offs[0] > offs[1]:
            raise ValueError("offsets")
        count = int(np.prod(shape, dtype=object)) if shape else 1
        if offs[1] - offs[0] != count * np.dtype(DTYPES[dt]).itemsize or offs[1] > len(data):
            raise ValueError("size")
        spans.append(tuple(offs))
        a = np.frombuffer(data[offs[0]:offs[1]], dtype=DTYPES[dt])
        # bfloat16: the high half of a float32.
        a = (a.astype("<u4") << 16).view("<f4") if dt == "BF16" else a.astype("<f4")
        out[name] = {"shape": shape, "f32": base64.b64encode(a.tobytes()).decode()}
    pos = 0
    for b, e in sorted(spans):
        if b != pos:
            raise ValueError("hole or overlap")
        pos = e
    if pos != len(data):
        raise ValueError("trailing bytes")
    return out


for line in sys.stdin:
    try:
        print(json.dumps({"ok": True, "tensors": read(line.strip())}))
    except Exception as e:
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"[:200]}))
