"""numpy's reading of .npy files, the reference for the fuzz test: for each path on stdin, one
JSON line: {"ok": true, "shape": [...], "f32": "<base64 of the array as little-endian float32>"}
or {"ok": false, "error": "..."}. Run with Debian's python3 and numpy."""
import base64, json, sys
import numpy as np

for line in sys.stdin:
    path = line.strip()
    try:
        a = np.load(path, allow_pickle=False)
        if a.dtype.kind not in 'fiub':
            print(json.dumps({"ok": True, "shape": list(a.shape), "kind": a.dtype.kind}))
            continue
        with np.errstate(all='ignore'):  # float64 beyond float32's range becomes inf, as in Cardinal
            f = np.ascontiguousarray(a).astype('<f4')
        print(json.dumps({"ok": True, "shape": list(a.shape), "kind": a.dtype.kind,
                          "f32": base64.b64encode(f.tobytes()).decode()}))
    except Exception as e:  # numpy's refusal, whatever its type
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"[:200]}))
