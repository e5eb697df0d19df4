// The playground's two views, Generate and Train, as tabs (WAI-ARIA tabs: one tab stop, arrow
// keys move between tabs, Home/End). The Train view's code, worker and default text load the
// first time it is opened, so a post that never trains downloads none of them.
export class Views {
  // pg: the <gpt-playground> element (its root, colors() and loadWeights()).
  constructor(pg) {
    this.pg = pg;
    this.train = null;  // the TrainView, once opened
    this.tabs = [...pg.root.querySelectorAll('.tabs [role=tab]')];
    for (const tab of this.tabs) {
      tab.addEventListener('click', () => this.show(tab.dataset.view));
      tab.addEventListener('keydown', (e) => this.key(e, tab));
    }
  }

  key(e, tab) {
    const i = this.tabs.indexOf(tab), n = this.tabs.length;
    const to = { ArrowRight: (i + 1) % n, ArrowLeft: (i + n - 1) % n, Home: 0, End: n - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    this.tabs[to].focus();
    this.show(this.tabs[to].dataset.view);
  }

  async show(view) {
    const $ = this.pg.$;
    for (const tab of this.tabs) {
      const on = tab.dataset.view === view;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    $('.main').hidden = view !== 'generate';
    $('.model').hidden = view !== 'generate';
    $('.train').hidden = view !== 'train';
    if (view === 'generate') return this.pg.requestDraw();
    if (this.train) return this.train.shown();
    this.loading ??= import('./train-view.js').then(({ TrainView }) => {
      this.train = new TrainView($('.train'), {
        colors: () => this.pg.colors(),
        onUse: async (file, text) => {
          if (!(await this.pg.loadWeights({ weights: file, extras: [], ignored: [] }))) return;
          // A prompt with characters the text never had would only meet the unknown-character
          // message: start from the text's opening line instead.
          const known = new Set(text);
          if (![...this.pg.s.prompt].every((c) => known.has(c))) {
            const line = text.slice(0, text.indexOf('\n') + 1);
            this.pg.applySettings({ prompt: line.length > 1 && line.length <= 120 ? line : [...text].slice(0, 40).join('') });
          }
          this.show('generate');
        },
      });
    }, (e) => {
      this.loading = null;  // opening the view again tries again
      this.pg.showError(`Could not load the Train view: ${e.message}`);
    });
    await this.loading;
  }

  // Text files dropped or picked while the Train view is open become its training text.
  takeFiles(files) {
    if (!this.train || this.pg.$('.train').hidden || !files.every((f) => /\.txt$/i.test(f.name) || f.type === 'text/plain')) return false;
    this.train.openFile(files[0]);
    return true;
  }

  dispose() {
    this.train?.dispose();
  }
}
