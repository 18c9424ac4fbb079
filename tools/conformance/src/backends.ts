import { BACKEND_NAMES, type BackendName, findBackend } from '@cardinal/pretrained';

/** The backends a conformance run can target: pretrained's one table, loaded only when asked for. */
export const CONFORMANCE_BACKENDS = BACKEND_NAMES;
export type ConformanceBackend = BackendName;

/** The backend by name, or the reason it cannot run here. */
export const loadConformanceBackend = findBackend;
