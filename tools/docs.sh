#!/usr/bin/env bash
# Build the documentation site into _docs/ (git-ignored) from the notebooks in nbs/; nothing is downloaded.
# Steps: nbdev processes the notebooks into _proc/ (show_doc, hidden cells, front matter), the README is appended to
# the front page, show_doc's [source] links are pointed at highlighted copies of ltmoo/*.py inside the site (so they
# work wherever the site is served, with or without a public repository), then
#  - with Quarto on PATH (`--quarto`): `quarto render`, as nbdev_docs does (README.md is not rewritten);
#  - without it (`--nbconvert`, the default here): nbconvert renders one HTML page per chapter with a chapter sidebar.
# The PyPI `quarto-cli` package is only an sdist whose build downloads the Quarto binary from GitHub, which this
# project's machines cannot reach, so the nbconvert renderer is what CI uses. Usage: bash tools/docs.sh [--quarto]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .venv/bin/activate ] && . .venv/bin/activate
mode=${1:-auto}
if [ "$mode" = auto ]; then if command -v quarto >/dev/null; then mode=--quarto; else mode=--nbconvert; fi; fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
had_sidebar=$([ -e nbs/sidebar.yml ] && echo 1 || echo 0)
python - "$mode" <<'PY'
import sys, re, json, shutil, subprocess, time, warnings
from pathlib import Path
warnings.filterwarnings('ignore')
t0, mode = time.time(), sys.argv[1]
from nbdev.config import get_config
from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
import nbdev.doclinks, nbdev.processors, nbdev.serve
cfg = get_config(); root, nbs = cfg.config_path, cfg.nbs_path
git = f"{cfg.git_url}/blob/{cfg.branch}/"

# A notebook cell that fails under nbdev's show_doc executor must not stop the whole site: warn and go on.
_call = nbdev.processors.exec_show_docs.__call__
def _tolerant(self, cell):
    try: return _call(self, cell)
    except Exception as e:
        print(f'docs: warning: {self.nb.frontmatter_.get("title", "?")}: cell {cell.idx_} failed under show_doc '
              f'({type(e.__cause__ or e).__name__}); left as is', file=sys.stderr)
        self.k.exc = None
nbdev.processors.exec_show_docs.__call__ = _tolerant

refresh_quarto_yml()                      # nbs/nbdev.yml from settings.ini; our nbs/_quarto.yml is kept
nbdev.doclinks._build_modidx()
nbdev_sidebar.__wrapped__(path=nbs)
cache = nbdev.serve.proc_nbs(nbs, n_workers=0, force=True)   # in-process, so the patch above applies

# front page: index + the README (its tables; links to repository files made absolute)
readme = (root/'README.md').read_text()
readme = re.sub(r'\]\((?!https?:|#)([^)]+)\)', lambda m: f']({git}{m.group(1)})', readme)
readme = re.sub(r'^# ltmoo\n', '', readme)
ip = cache/'index.ipynb'
if ip.exists():
    nb = json.loads(ip.read_text())
    nb['cells'].append(dict(cell_type='markdown', id='readme00', metadata={}, source=readme))
    ip.write_text(json.dumps(nb, indent=1))

# pages from docs/: the reference notes the chapters cite, and the BibTeX of every paper the tables name
def _page(name, title, desc, text):
    nb = dict(cells=[dict(cell_type='raw', id=name[:8] + 'fm', metadata={}, source=f'---\ntitle: "{title}"\n'
                          f'description: "{desc}"\n---'), dict(cell_type='markdown', id=name[:8] + 'md', metadata={},
                          source=text)], metadata={}, nbformat=4, nbformat_minor=5)
    (cache/f'{name}.ipynb').write_text(json.dumps(nb, indent=1))
notes = (root/'docs'/'reference-notes.md').read_text().split('\n', 1)[1]
_page('reference-notes', 'Reference notes', "What the authors' code does, cited by the chapters as A.4, B.2, ...",
      notes.replace('](references.bib)', '](references.html)'))
_page('references', 'References', 'BibTeX of both papers and of every baseline the tables name (docs/references.bib)',
      "Cite ltmoo with `CITATION.bib`; the papers:\n\n```bibtex\n" + (root/'docs'/'references.bib').read_text() + "```\n")
rp = cache/'results.ipynb'                  # the results page sits beside figures/ in the site, not in nbs/
if rp.exists(): rp.write_text(rp.read_text().replace('](../figures/', '](figures/'))

# source links -> highlighted copies under src/ (line anchors L-<n>)
pat = re.compile(re.escape(git) + r'(ltmoo/[\w/]+\.py)(?:#L(\d+))?')
def _relink(p):
    depth = len(p.relative_to(cache).parts) - 1
    s = p.read_text()
    s2 = pat.sub(lambda m: '../'*depth + f'src/{m.group(1)}.html' + (f'#L-{m.group(2)}' if m.group(2) else ''), s)
    if s2 != s: p.write_text(s2)
for p in cache.rglob('*.ipynb'): _relink(p)

docs = root/cfg.doc_path.name
shutil.rmtree(docs, ignore_errors=True)
if mode == '--quarto':
    subprocess.run(['quarto', 'render', '--no-cache'], cwd=cache, check=True)
    shutil.move(str(cache/cfg.doc_path.name), str(docs))
else:
    import yaml, nbformat
    from nbconvert import HTMLExporter
    pages = []
    for p in sorted(cache.rglob('*.ipynb')):
        nb = nbformat.read(p, as_version=4)
        fm = {}
        if nb.cells and nb.cells[0].cell_type == 'raw' and nb.cells[0].source.startswith('---'):
            fm = yaml.safe_load(nb.cells[0].source.strip().strip('-')) or {}
        if fm.get('draft') or fm.get('hide'): continue
        out = fm.get('output-file') or p.with_suffix('.html').name
        rel = p.relative_to(cache).parent/out
        pages.append((rel, fm.get('title', p.stem), fm.get('description', ''), nb))
    pages.sort(key=lambda t: (t[0].parts[0] == 'experiments', str(t[0]) != 'index.html', str(t[0])))
    exp = HTMLExporter(template_name='lab'); exp.exclude_input_prompt = exp.exclude_output_prompt = True
    css = (nbs/'styles.css').read_text() + """
    .ltm-side{position:fixed;top:0;left:0;width:230px;height:100%;overflow:auto;padding:1em;background:#f7f7f9;
      border-right:1px solid #ddd;font-family:sans-serif;font-size:14px} .ltm-side a{display:block;margin:.25em 0}
    .ltm-main{margin-left:250px} .ltm-side .cur{font-weight:bold} .ltm-desc{font-style:italic;opacity:.7}"""
    for rel, title, desc, nb in pages:
        up = '../' * (len(rel.parts) - 1)
        side = ''.join(f'<a class="{"cur" if r == rel else ""}" href="{up}{r}">{t}</a>' for r, t, _, _ in pages)
        body, _ = exp.from_notebook_node(nb)
        body = re.sub(r'href="(?!https?:)([^"#]+)\.ipynb', r'href="\1.html', body)
        head = f'<h1>{title}</h1>' + (f'<p class="ltm-desc">{desc}</p>' if desc else '')
        body = body.replace('<main>', f'<main>{head}', 1) if '<main>' in body else body
        body = re.sub(r'(<body[^>]*>)', lambda m: m.group(1) + f'<nav class="ltm-side"><b>{cfg.title}</b>{side}'
                      '</nav><div class="ltm-main">', body, count=1)
        body = body.replace('</body>', '</div></body>').replace('</head>', f'<style>{css}</style></head>', 1)
        (docs/rel).parent.mkdir(parents=True, exist_ok=True); (docs/rel).write_text(body)

# highlighted sources for the [source] links
from pygments import highlight
from pygments.lexers import PythonLexer
from pygments.formatters import HtmlFormatter
fmt = HtmlFormatter(linenos='table', lineanchors='L', anchorlinenos=True, full=True)
for f in sorted((root/'ltmoo').rglob('*.py')):
    o = docs/'src'/f.relative_to(root).with_suffix('.py.html')
    o.parent.mkdir(parents=True, exist_ok=True)
    fmt.title = str(f.relative_to(root)); o.write_text(highlight(f.read_text(), PythonLexer(), fmt))
for d in ('figures',):                      # figures the results page shows
    if (root/d).exists(): shutil.copytree(root/d, docs/d, dirs_exist_ok=True)
n = len(list(docs.rglob('*.html')))
print(f'docs: {docs} ({mode[2:]}), {n} HTML files in {time.time()-t0:.0f} s')
PY
[ "$had_sidebar" = 1 ] || rm -f nbs/sidebar.yml
