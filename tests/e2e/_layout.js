// What a learner would call cut off, squashed, truncated or doubly scrolled, in the widget
// under `root` (a cell's output area); used by _layout.py. Returns {problems, width}.
(root) => {
  const problems = [];
  const box = root.getBoundingClientRect();
  const where = (el) => {
    const label = el.closest('.widget-inline-hbox, .widget-inline-vbox');
    const text = label && label.querySelector(':scope > label');
    const name = (text && text.textContent.trim()) || (el.textContent || '').trim().slice(0, 30)
      || el.getAttribute('title') || el.className;
    return `${el.tagName.toLowerCase()} "${name}"`;
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const canvas = document.createElement('canvas').getContext('2d');
  const textWidth = (el, text) => {
    const s = getComputedStyle(el);
    canvas.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    return canvas.measureText(text).width;
  };
  const all = [...root.querySelectorAll('*')].filter(visible);

  // 1. Text cut short: labels, buttons, readouts that hide part of their text.
  const texts = root.querySelectorAll(
    'label, button, .widget-readout, .widget-label, .widget-label-basic, .widget-html-content'
  );
  for (const el of texts) {
    if (!visible(el)) continue;
    const s = getComputedStyle(el);
    const clips = s.overflowX !== 'visible' || s.textOverflow === 'ellipsis';
    if (clips && el.scrollWidth > el.clientWidth + 1 && !el.closest('.jp-OutputArea-output pre')) {
      if (el.classList.contains('widget-html-content') && s.overflowX === 'auto') continue;
      problems.push(`text cut off: ${where(el)} needs ${el.scrollWidth}px, has ${el.clientWidth}px`);
    }
  }
  // Drop-down menus: the chosen option's text must fit beside the arrow.
  for (const el of root.querySelectorAll('select')) {
    if (!visible(el) || el.multiple) continue;
    const opt = el.options[el.selectedIndex];
    if (!opt) continue;
    const s = getComputedStyle(el);
    const room = el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    const need = textWidth(el, opt.text);
    if (need > room + 1) {
      problems.push(`text cut off: ${where(el)} shows "${opt.text}" in ${room.toFixed(0)}px, needs ${need.toFixed(0)}px`);
    }
  }
  // Text boxes: the number or text typed must fit.
  for (const el of root.querySelectorAll('input[type=text], input[type=number], input:not([type])')) {
    if (!visible(el)) continue;
    const s = getComputedStyle(el);
    const room = el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    const need = textWidth(el, el.value);
    if (need > room + 1) {
      problems.push(`text cut off: ${where(el)} shows "${el.value}" in ${room.toFixed(0)}px`);
    }
  }

  // 2. Cut off: every control inside the output area and inside each clipping ancestor.
  const controls = root.querySelectorAll(
    'button, select, input, .widget-slider, .widget-readout, label, .widget-play, img, svg, table'
  );
  for (const el of controls) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.right > box.right + 1 || r.left < box.left - 1) {
      problems.push(`outside the notebook's width: ${where(el)} spans ${r.left.toFixed(0)}-${r.right.toFixed(0)}, output ${box.left.toFixed(0)}-${box.right.toFixed(0)}`);
      continue;
    }
    for (let a = el.parentElement; a && a !== root; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const p = a.getBoundingClientRect();
      if (r.right > p.right + 1 || r.bottom > p.bottom + 1 || r.left < p.left - 1) {
        problems.push(`cut off: ${where(el)} (${r.width.toFixed(0)}x${r.height.toFixed(0)}) by its container ${a.className.slice(0, 60)}`);
        break;
      }
    }
  }

  // 3. Squashed: a slider's track too short to aim at, a control narrower than its content.
  for (const el of root.querySelectorAll('.widget-slider .noUi-target, .slider-container')) {
    if (!visible(el)) continue;
    const w = el.getBoundingClientRect().width;
    if (w < 80) problems.push(`squashed: slider ${where(el)} is ${w.toFixed(0)}px wide`);
  }
  for (const el of root.querySelectorAll('button')) {
    if (!visible(el)) continue;
    const s = getComputedStyle(el);
    const room = el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    const need = [...el.childNodes].reduce(
      (a, n) => a + (n.nodeType === 3 ? textWidth(el, n.textContent) : n.getBoundingClientRect().width), 0);
    if (el.scrollWidth > el.clientWidth + 1 || need > room + 1) {
      problems.push(`squashed: ${where(el)} needs ${need.toFixed(0)}px inside, has ${room.toFixed(0)}px`);
    }
  }

  // A description beside its control, not on a line of its own above it.
  for (const label of root.querySelectorAll('label.widget-label, .widget-label')) {
    if (!visible(label) || !label.textContent.trim()) continue;
    const control = label.nextElementSibling;
    if (!control || !visible(control)) continue;
    const l = label.getBoundingClientRect(), c = control.getBoundingClientRect();
    const middle = (l.top + l.bottom) / 2;
    if (middle < c.top - 1 || middle > c.bottom + 1) {
      problems.push(`squashed: the label "${label.textContent.trim()}" is not beside its control (label at ${l.top.toFixed(0)}-${l.bottom.toFixed(0)}, control at ${c.top.toFixed(0)}-${c.bottom.toFixed(0)})`);
    }
  }

  // 4. A second scrollbar: any element of the widget that scrolls (the notebook is the first).
  for (const el of [root, ...all]) {
    const s = getComputedStyle(el);
    const sx = ['auto', 'scroll'].includes(s.overflowX) && el.scrollWidth > el.clientWidth + 1;
    const sy = ['auto', 'scroll'].includes(s.overflowY) && el.scrollHeight > el.clientHeight + 1;
    if (sx || sy) {
      problems.push(`scrollbar: ${sx ? 'horizontal' : 'vertical'} on ${el.tagName.toLowerCase()}.${String(el.className).slice(0, 60)} (${el.scrollWidth}x${el.scrollHeight} in ${el.clientWidth}x${el.clientHeight})`);
    }
  }
  return { problems: [...new Set(problems)], width: box.width };
}
