// The full page: the playground element plus the URL hash, which holds the prompt, seed, settings
// and selected head so that a copied link reproduces the run.
import './gpt-playground.js';
import { bindCacheList, renderCacheList } from './cache-list.js';
import { fromHash, toHash } from './settings.js';

const playground = document.querySelector('gpt-playground');
playground.applySettings(fromHash(location.hash));
playground.addEventListener('settingschange', (e) => history.replaceState(null, '', toHash(e.detail)));
window.addEventListener('hashchange', () => playground.applySettings(fromHash(location.hash)));

// Models kept in this browser: listed in the footer, refreshed after every load.
const kept = document.querySelector('.kept-models');
bindCacheList(kept);
playground.addEventListener('modelload', () => renderCacheList(kept));
