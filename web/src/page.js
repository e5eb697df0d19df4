// The full page: the playground element plus the URL hash, which holds the prompt, seed, settings
// and selected head so that a copied link reproduces the run.
import './gpt-playground.js';
import { fromHash, toHash } from './settings.js';

const playground = document.querySelector('gpt-playground');
playground.applySettings(fromHash(location.hash));
playground.addEventListener('settingschange', (e) => history.replaceState(null, '', toHash(e.detail)));
window.addEventListener('hashchange', () => playground.applySettings(fromHash(location.hash)));
