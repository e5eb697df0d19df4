// The page's list of model files kept in this browser (model-cache.js), with their sizes, and
// buttons to forget one or all. Page chrome: the embeddable element does not show it.
import { forget, listCached } from './model-cache.js';
import { bytes } from './format.js';

export async function renderCacheList(section) {
  const entries = await listCached();
  section.hidden = entries.length === 0;
  const list = section.querySelector('ul');
  list.replaceChildren(...entries.map((e) => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    const url = new URL(e.url);
    name.textContent = url.origin === location.origin ? url.pathname : e.url;
    name.title = e.stored ? `kept since ${e.stored.toLocaleString()}` : '';
    const size = document.createElement('span');
    size.className = 'size';
    size.textContent = bytes(e.bytes);
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Forget';
    button.setAttribute('aria-label', `Forget ${name.textContent}`);
    button.addEventListener('click', async () => {
      await forget(e.url);
      renderCacheList(section);
    });
    li.append(name, size, button);
    return li;
  }));
  const total = entries.reduce((n, e) => n + e.bytes, 0);
  section.querySelector('.total').textContent = `${entries.length} file${entries.length === 1 ? '' : 's'}, ${bytes(total)}`;
}

export function bindCacheList(section) {
  section.querySelector('.forget-all').addEventListener('click', async () => {
    await forget();
    renderCacheList(section);
  });
  renderCacheList(section);
}
