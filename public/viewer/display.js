// Caption display settings (size, contrast, position), the colour theme, and reading captions
// aloud: chosen by each viewer and kept in this browser. Shared by the stream page and the wall.

const KEY = 'livecap.display';
const DEFAULTS = { size: 'normal', contrast: 'default', position: 'below', theme: 'system', readAloud: false };
const CHOICES = {
  size: ['normal', 'large', 'x-large'],
  contrast: ['default', 'high'],
  position: ['below', 'above'],
  theme: ['system', 'light', 'dark'],
};
/** Each setting's label and its choices' names, for the form. */
const LABELS = {
  size: ['Caption size', ['Normal', 'Large', 'Extra large']],
  contrast: ['Caption contrast', ['Default', 'High: white on black']],
  position: ['Caption position', ['Beside or below the picture', 'Above the picture']],
  theme: ['Theme', ['As the system', 'Light', 'Dark']],
};

/** The settings form inside <details class="display-settings" data-settings="size contrast …">: a labelled select each. */
function buildForm(details) {
  const grid = document.createElement('div');
  grid.className = 'settings-grid';
  for (const name of details.dataset.settings.split(' ')) {
    const [text, names] = LABELS[name];
    const label = document.createElement('label');
    label.htmlFor = `display-${name}`;
    label.textContent = text;
    const select = document.createElement('select');
    select.id = `display-${name}`;
    CHOICES[name].forEach((value, i) => select.append(new Option(names[i], value)));
    grid.append(label, select);
  }
  details.append(grid);
}

export function loadSettings() {
  let stored = {};
  try {
    stored = JSON.parse(localStorage.getItem(KEY) ?? '{}') ?? {};
  } catch {
    // Storage off or damaged: the defaults.
  }
  const settings = { ...DEFAULTS };
  for (const [name, allowed] of Object.entries(CHOICES)) if (allowed.includes(stored[name])) settings[name] = stored[name];
  settings.readAloud = stored.readAloud === true;
  return settings;
}

function saveSettings(settings) {
  try {
    localStorage.setItem(KEY, JSON.stringify(settings));
  } catch {
    // Storage can be off (private mode, policy): the choice holds for this page.
  }
}

/** The settings as attributes on <html>, which the style sheet reads. */
export function applySettings(settings) {
  const root = document.documentElement;
  root.dataset.captionSize = settings.size;
  root.dataset.contrast = settings.contrast;
  root.dataset.captionPosition = settings.position;
  root.dataset.theme = settings.theme;
}

/**
 * Reads captions and alerts aloud with the browser's speech (Web Speech API), for people without a
 * screen reader. A new caption replaces one still being read (captions must not queue up behind
 * the live picture); an alert is read after whatever is being read.
 */
export class ReadAloud {
  constructor(button, settings) {
    this.button = button;
    this.settings = settings;
    this.synth = globalThis.speechSynthesis;
    if (!this.synth || typeof SpeechSynthesisUtterance === 'undefined') {
      button.disabled = true;
      button.textContent = 'Read aloud (not available in this browser)';
      return;
    }
    this.set(settings.readAloud);
    button.addEventListener('click', () => {
      this.set(button.getAttribute('aria-pressed') !== 'true');
      saveSettings(this.settings);
    });
  }

  set(on) {
    this.settings.readAloud = on;
    this.button.setAttribute('aria-pressed', String(on));
    if (!on) this.synth?.cancel();
  }

  /** Reads a caption (replacing one being read) or, `urgent`, an alert (after it). */
  say(text, { urgent = false } = {}) {
    if (!this.settings.readAloud || !this.synth) return;
    if (!urgent && this.synth.speaking) this.synth.cancel();
    this.synth.speak(new SpeechSynthesisUtterance(text));
  }
}

/** Wires the display settings form (selects named in CHOICES) and applies what is stored. */
export function setupDisplay() {
  const settings = loadSettings();
  applySettings(settings);
  const details = document.querySelector('.display-settings');
  if (details) buildForm(details);
  for (const name of Object.keys(CHOICES)) {
    const select = document.getElementById(`display-${name}`);
    if (!select) continue;
    select.value = settings[name];
    select.addEventListener('change', () => {
      settings[name] = select.value;
      applySettings(settings);
      saveSettings(settings);
    });
  }
  const button = document.getElementById('read-aloud');
  return { settings, readAloud: button ? new ReadAloud(button, settings) : undefined };
}
