// Small DOM helpers. Text always goes in as textContent, never as HTML.

// h('td', { class: 'empty', colspan: 3, dataset: { id: 4 } }, 'text', childNode, ...)
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name === 'dataset') setData(element, value);
    else if (name === 'text') element.textContent = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

function setData(element, values) {
  for (const [key, value] of Object.entries(values)) {
    if (value !== null && value !== undefined) element.dataset[key] = String(value);
  }
}

// A copy of a <template> of index.html.
export function cloneTemplate(id) {
  const template = document.getElementById(id);
  return template.content.cloneNode(true);
}

// Removes every [data-scope] element whose scope the session lacks, so that what a key
// may not do is not in the page at all.
export function pruneScopes(root, can) {
  for (const element of root.querySelectorAll('[data-scope]')) {
    if (!can(element.dataset.scope)) element.remove();
  }
}

// A table body row spanning every column, for "nothing here" and "loading".
export function messageRow(table, text) {
  const columns = table.tHead ? table.tHead.rows[0].cells.length : 1;
  return h('tr', {}, h('td', { class: 'empty', colspan: columns }, text));
}

// Runs fn at most once per delay, after the last call (search as you type).
export function debounce(fn, delay) {
  let timer = null;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), delay);
  };
  debounced.cancel = () => clearTimeout(timer);
  return debounced;
}

// Disables a button while an async action runs, so it cannot be sent twice.
export async function busy(button, action) {
  const wasDisabled = button.disabled;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await action();
  } finally {
    button.removeAttribute('aria-busy');
    if (button.isConnected) button.disabled = wasDisabled;
  }
}
