// The playground's markup, inside its shadow root. Static: no user data is ever put into it (that
// goes in with textContent). Styles come from playground.css through a <link>, which a strict CSP
// (style-src 'self') allows where an inline <style> would not be.
export const TEMPLATE = `
<div class="gp" part="root">
  <div class="tabs" role="tablist" aria-label="Views">
    <button type="button" role="tab" class="tab" id="tab-generate" data-view="generate" aria-selected="true" aria-controls="view-generate">Generate</button>
    <button type="button" role="tab" class="tab" id="tab-train" data-view="train" aria-selected="false" aria-controls="view-train" tabindex="-1">Train</button>
  </div>
  <div class="drop-overlay" hidden><p>Drop a <code>.safetensors</code> checkpoint (with its <code>tokenizer.json</code>
    and <code>config.json</code> if it has them) to load it</p></div>

  <section class="model" aria-label="Model">
    <div class="progress" hidden>
      <div class="progress-track" role="progressbar" aria-label="Downloading weights" aria-valuemin="0" aria-valuemax="100">
        <div class="progress-bar"></div>
      </div>
      <span class="progress-text"></span>
    </div>
    <dl class="info"></dl>
    <div class="model-actions">
      <label class="weights-in">Weights in memory <select name="weightsIn"><option value="auto">auto</option>
        <option value="f32">float32</option><option value="f16">float16</option><option value="int8">int8</option></select></label>
      <button type="button" class="load-file">Load checkpoint…</button>
      <input type="file" class="file-input" accept=".safetensors,.json,.txt" multiple hidden>
    </div>
  </section>

  <div class="error" role="alert" hidden>
    <p class="error-text"></p>
    <button type="button" class="error-retry" hidden>Retry</button>
    <button type="button" class="error-close" aria-label="Dismiss the message">×</button>
  </div>

  <div class="main" id="view-generate" role="tabpanel" aria-labelledby="tab-generate">
    <section class="left" aria-label="Generation">
      <div class="field prompt-field">
        <label for="prompt">Prompt</label>
        <textarea id="prompt" rows="4" spellcheck="false" autocomplete="off"></textarea>
        <p class="prompt-issues" hidden></p>
      </div>

      <div class="actions">
        <button type="button" class="generate primary">Generate</button>
        <button type="button" class="stop" disabled>Stop</button>
        <span class="status" role="status" aria-live="polite"></span>
      </div>

      <details class="settings" open>
        <summary>Sampling</summary>
        <div class="settings-grid">
          <label>Max new tokens <input type="number" name="maxTokens" min="1" max="5000" step="1"></label>
          <label>Temperature <span class="range"><input type="range" name="temperature" min="0" max="2" step="0.05"><output></output></span></label>
          <label>Top-k <span class="hint">0 = off</span> <input type="number" name="topK" min="0" step="1"></label>
          <label>Top-p <span class="range"><input type="range" name="topP" min="0.05" max="1" step="0.05"><output></output></span></label>
          <label>Seed <input type="number" name="seed" min="0" max="4294967295" step="1"></label>
          <label class="check"><input type="checkbox" name="randomSeed"> New random seed each run</label>
        </div>
      </details>

      <div class="output-wrap">
        <div class="output-head">
          <h3 id="output-title">Text</h3>
          <span class="legend-text"><span class="swatch prompt-swatch"></span>prompt <span class="swatch gen-swatch"></span>generated</span>
          <p class="text-hint">Hover a character: what it attends to. Click a generated one: how it was chosen.</p>
        </div>
        <div class="output" tabindex="0" role="group" aria-labelledby="output-title"
             aria-description="Hover or use the arrow keys to see what each character attends to; Enter or click a generated character to see how it was chosen."></div>
        <p class="head-view-status" aria-live="polite"></p>
      </div>

      <section class="next" aria-labelledby="next-title">
        <h3 id="next-title"><span class="next-name">Next-token distribution</span> <span class="next-step"></span></h3>
        <ol class="topk"></ol>
        <p class="topk-note" hidden></p>
      </section>
    </section>

    <section class="right" aria-label="Attention">
      <div class="attn-head">
        <h3>Attention <span class="hint">layer × head; rows are queries, columns keys</span></h3>
        <div class="attn-controls">
          <label>Layer <select name="layer"></select></label>
          <label>Head <select name="head"></select></label>
          <label class="span-control">Rows <select name="span">
            <option value="16">16</option><option value="32">32</option><option value="64">64</option>
            <option value="128">128</option><option value="256">256</option></select></label>
          <label class="scale-control">Colour <select name="scale">
            <option value="sqrt">√ weight</option><option value="linear">weight</option></select></label>
        </div>
      </div>
      <div class="grid" role="group" aria-label="Attention heads: arrow keys move, Enter opens, M switches a head off, uniform, normal"></div>
      <section class="detail" aria-label="Selected head, large">
        <div class="detail-pair">
          <figure class="learned-fig"><canvas class="learned" aria-label="Selected head's attention matrix"></canvas>
            <figcaption class="learned-caption"></figcaption></figure>
          <figure class="trick-fig"><canvas class="trick" aria-label="Uniform causal average"></canvas>
            <figcaption>The “mathematical trick” from the first position on: row <var>t</var> gives each of the
              <var>t</var>+1 tokens so far 1/(<var>t</var>+1), <code>softmax</code> of zeros under the causal mask.
              Learning turns this into the pattern beside it.</figcaption>
          </figure>
        </div>
        <div class="tooltip" hidden></div>
        <div class="scale">
          <span>0</span><span class="scale-bar"></span><span>1</span><span class="scale-name"></span>
          <span class="swatch masked-swatch"></span><span>masked (the future)</span>
          <span class="outside-legend" hidden><span class="swatch outside-swatch"></span> before the context window (no longer seen)</span>
        </div>
        <div class="exports">
          <button type="button" class="export-png">Export heatmap (PNG)</button>
          <button type="button" class="export-json">Export run attention (JSON)</button>
        </div>
      </section>
      <section class="look" aria-label="Inside the selected row" hidden>
        <div class="row-math"><h3 class="math-title"></h3><div class="math-body"></div>
          <div class="alpha-row"><label>α <input type="range" class="alpha" min="0" max="1" step="0.05" value="1"
            aria-describedby="alpha-note"></label><output class="alpha-value">1.00</output>
            <label><input type="checkbox" class="alpha-whole"> the whole head at this α</label></div>
          <p class="look-note" id="alpha-note">softmax(α · scores) under the mask: α = 0 is the uniform average 1, ½, ⅓ … of the
            “mathematical trick”, α = 1 the learned head.</p></div>
        <div class="lens-view"><h3 class="lens-title">Logit lens</h3><table class="lens-table"></table>
          <p class="look-note">Each layer's residual stream through the final LayerNorm and lm_head: what the model would
            predict if it stopped there. The last row is the real prediction (at temperature 1).</p></div>
      </section>
      <section class="experiments" aria-label="Head experiments">
        <div class="exp-bar">
          <strong>Head experiments</strong>
          <span class="hint">A head's corner switch (or M on a head) turns it off, then uniform, then back; the text is generated again.</span>
          <button type="button" class="reset-heads" disabled>Reset all</button>
          <button type="button" class="roles-start" aria-expanded="false">Head roles…</button>
        </div>
        <p class="loss-readout" aria-live="polite"></p>
        <div class="roles" hidden>
          <p><progress class="roles-progress" max="1" value="0"></progress> <span class="roles-status" aria-live="polite"></span></p>
          <table class="roles-table"></table>
        </div>
      </section>
    </section>
  </div>
  <div class="train" id="view-train" role="tabpanel" aria-labelledby="tab-train" hidden></div>
</div>`;
