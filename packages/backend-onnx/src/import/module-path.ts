/**
 * The module path an exporter left in a node's name. PyTorch's exporter names nodes by their
 * module scopes, each scope either a child name or the full dotted path
 * (`/layer1/layer1.0/conv1/Conv` -> `layer1.0.conv1`); the last part is the op.
 */
export function modulePathFromName(name: string): string {
  const parts = name.split('/').filter((p) => p.length > 0);
  if (parts.length < 2) return '';
  let path = '';
  for (const part of parts.slice(0, -1)) {
    if (!/^[\w.]+$/.test(part)) return '';
    path = path === '' || part.startsWith(`${path}.`) ? part : `${path}.${part}`;
  }
  return path;
}
