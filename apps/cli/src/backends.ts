// The backends by name are @cardinal/pretrained's one table (BACKEND_NAMES, loadBackend).
export { BACKEND_NAMES, loadBackend } from '@cardinal/pretrained';
