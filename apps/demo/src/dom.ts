// Small DOM helpers the page's panels share.

/** The element with this id, typed as the caller expects. */
export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Text made safe to put into innerHTML. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
