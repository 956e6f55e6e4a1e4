// The showcase's single-page app: three views routed on the client. The server sends this same
// page (index.html) for any deep link under /app/ — /app/notes/3 reloads here, not to a 404 —
// while /api/... stays the JSON API.
const view = document.getElementById('view');

const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
};
const when = (iso) => new Date(iso).toLocaleString();
const link = (href, text) => h('a', { href, 'data-link': '' }, text);

async function api(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  return { status: res.status, body: await res.json() };
}

const routes = [
  [/^\/app\/?$/, listView],
  [/^\/app\/notes\/(\d+)$/, noteView],
  [/^\/app\/about$/, aboutView],
];

async function listView() {
  const { body } = await api('/api/notes?limit=50');
  const items = body.notes.map((n) =>
    h(
      'li',
      {},
      link(`/app/notes/${n.id}`, `#${n.id}`),
      ' ',
      n.text,
      h('div', { class: 'meta' }, `${n.author} · ${when(n.createdAt)}`),
    ),
  );
  return [
    h('h1', {}, 'Notes'),
    items.length === 0
      ? h('p', {}, 'No notes yet: sign the guestbook on ', h('a', { href: '/#notes' }, 'the tour page'), '.')
      : h('ul', { class: 'notes', id: 'notes' }, ...items),
  ];
}

async function noteView(id) {
  const { status, body } = await api(`/api/notes/${id}`);
  if (status === 404)
    return [
      h('h1', {}, `Note ${id}`),
      h('p', { id: 'missing' }, 'There is no such note.'),
      link('/app/', 'All notes'),
    ];
  return [
    h('h1', {}, `Note ${body.id}`),
    h('blockquote', { id: 'note' }, body.text),
    h('p', { class: 'meta' }, `by ${body.author}, ${when(body.createdAt)}`),
    h(
      'p',
      {},
      'Reload this page: the server answers this deep link with the app, which asks ',
      h('code', {}, `GET /api/notes/${body.id}`),
      '.',
    ),
    link('/app/', 'All notes'),
  ];
}

async function aboutView() {
  return [
    h('h1', {}, 'About'),
    h(
      'p',
      {},
      'strata serves ',
      h('code', {}, 'spa/'),
      ' under ',
      h('code', {}, '/app/'),
      ' with ',
      h('code', {}, "spaFallback: 'index.html'"),
      ': a browser navigation the app answers 404 gets this page instead, and the client picks the view.',
    ),
    h('p', {}, 'A fetch() to a missing API path still gets the API’s own 404 in problem+json.'),
  ];
}

async function notFound(path) {
  return [
    h('h1', {}, 'Not found'),
    h('p', { id: 'missing' }, `Nothing lives at ${path}.`),
    link('/app/', 'Notes'),
  ];
}

async function render() {
  const path = location.pathname;
  let content;
  for (const [pattern, show] of routes) {
    const m = pattern.exec(path);
    if (m) {
      content = await show(...m.slice(1));
      break;
    }
  }
  content ??= await notFound(path);
  view.replaceChildren(...content, h('p', { class: 'route' }, `client route: ${path}`));
  document.title = `${view.querySelector('h1').textContent} · strata notes`;
  for (const a of document.querySelectorAll('nav a')) {
    if (
      a.getAttribute('href') === path ||
      (a.getAttribute('href') === '/app/' && path.startsWith('/app/notes'))
    )
      a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  view.dataset.ready = path;
}

// Links marked data-link change the view without a page load.
document.addEventListener('click', (event) => {
  const a = event.target.closest('a[data-link]');
  if (a === null || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  if (a.pathname !== location.pathname) history.pushState(null, '', a.pathname);
  render();
});
addEventListener('popstate', render);
render();
