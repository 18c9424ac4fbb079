/** Makes an element a drop zone: highlighted while files are dragged over it, `onFiles` on drop. */
export function dropZone(el: HTMLElement, onFiles: (files: File[]) => void | Promise<void>): void {
  el.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    el.classList.add('over');
  });
  el.addEventListener('dragleave', () => el.classList.remove('over'));
  el.addEventListener('drop', (ev) => {
    ev.preventDefault();
    el.classList.remove('over');
    void onFiles([...(ev.dataTransfer?.files ?? [])]);
  });
}
