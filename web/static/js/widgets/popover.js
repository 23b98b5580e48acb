// A popover: a button that opens a floating box below it. The box closes on a second click
// of the button, a click anywhere outside, or Esc (app.js sends `close` to the innermost open
// [data-closable]). Used by the time picker and the search syntax help.

import { el } from '../format.js';

// createPopover({button, content, className, wrapClass, attrs, onOpen}) → {el, open(), close()}.
// el holds the button and the box; put it where the button goes. className is added to the
// box's `popover` class, wrapClass is the holder's; attrs go on the box (role, aria-label).
// onOpen runs before the box shows (to fill it in).
export function createPopover({ button, content, className = '', wrapClass = '', attrs = {}, onOpen = () => {} }) {
  const pop = el('div', { ...attrs, class: `popover ${className}`.trim(), hidden: true, 'data-closable': true }, content);
  const wrap = el('div', { class: wrapClass }, button, pop);

  function outside(ev) {
    if (!wrap.contains(ev.target)) close();
  }
  function open() {
    onOpen();
    pop.hidden = false;
    document.addEventListener('mousedown', outside, true);
  }
  function close() {
    pop.hidden = true;
    document.removeEventListener('mousedown', outside, true);
  }
  pop.addEventListener('close', close);
  button.addEventListener('click', () => (pop.hidden ? open() : close()));
  return { el: wrap, open, close };
}
