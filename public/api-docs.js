// Renders the OpenAPI 3.1 document of this server: operations, parameters, responses, schemas.
(async function () {
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
    children.flat().forEach((c) => node.append(c instanceof Node ? c : document.createTextNode(String(c))));
    return node;
  };
  const ops = document.getElementById('ops');
  try {
    const doc = await (await fetch('/api/v1/openapi.json')).json();
    const base = (doc.servers && doc.servers[0] && doc.servers[0].url) || '';
    document.getElementById('title').textContent = `${doc.info.title} ${doc.info.version}`;
    document.getElementById('description').textContent = doc.info.description || '';
    const schemaName = (s) => !s ? '' : s.$ref ? s.$ref.split('/').pop() : s.type === 'array' ? `${schemaName(s.items)}[]` : (s.type || (s.oneOf ? s.oneOf.map(schemaName).join(' | ') : 'object'));
    ops.replaceChildren();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [verb, op] of Object.entries(item)) {
        const params = (op.parameters || []).map((p) => el('tr', {}, el('td', {}, el('code', {}, p.name)), el('td', {}, p.in), el('td', {}, schemaName(p.schema)), el('td', {}, p.description || '')));
        const body = op.requestBody ? el('p', {}, 'Body: ', el('code', {}, schemaName(Object.values(op.requestBody.content)[0].schema))) : '';
        const responses = Object.entries(op.responses || {}).map(([code, r]) => el('li', {}, el('strong', {}, code), ' ', r.description || '', r.content ? [' — ', el('code', {}, schemaName(Object.values(r.content)[0].schema))] : ''));
        ops.append(el('section', { class: 'op', id: op.operationId || path },
          el('h3', {}, el('span', { class: 'verb' }, verb.toUpperCase()), base + path),
          el('p', {}, op.summary || op.description || ''),
          params.length ? el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Parameter'), el('th', {}, 'In'), el('th', {}, 'Type'), el('th', {}, 'Description'))), el('tbody', {}, params)) : '',
          body, el('ul', {}, responses)));
      }
    }
    const schemas = (doc.components && doc.components.schemas) || {};
    ops.append(el('h2', {}, 'Schemas'));
    for (const [name, schema] of Object.entries(schemas)) {
      ops.append(el('section', { class: 'op', id: `schema-${name}` }, el('h3', {}, name), el('pre', {}, JSON.stringify(schema, null, 2))));
    }
  } catch (e) {
    ops.replaceChildren(el('div', { class: 'error-box', role: 'alert' }, `Could not load the OpenAPI document: ${e}`));
  }
})();
