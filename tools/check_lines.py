"""Exported code keeps to 120 characters a line (issue #14), and to 60 lines a function and an export cell (issue #24):
fail naming each longer line of ltmoo/**/*.py, each longer function, and each longer `#| export` cell of nbs/.

Not counted: what nbdev writes itself (the module docstring from the notebook's title, `__all__`), and lines inside
string literals (docstrings, the papers' tables in ltmoo/paper.py, messages), which cannot be wrapped without
changing the text. Usage: python tools/check_lines.py [--max 120]"""
import io, sys, tokenize
from pathlib import Path

N = int(sys.argv[sys.argv.index('--max') + 1]) if '--max' in sys.argv else 120
root = Path(__file__).resolve().parents[1]
bad = []
for f in sorted((root/'ltmoo').rglob('*.py')):
    if f.name == '_modidx.py': continue
    text = f.read_text(); lines = text.split('\n')
    strings = set()
    for t in tokenize.generate_tokens(io.StringIO(text).readline):
        if t.type == tokenize.STRING or t.type == getattr(tokenize, 'FSTRING_MIDDLE', -1):
            if t.start[0] != t.end[0]: strings |= set(range(t.start[0], t.end[0] + 1))
            elif len(lines[t.start[0] - 1]) - len(t.string) <= N: strings.add(t.start[0])   # the literal is the long part
    for i, l in enumerate(lines, 1):
        if len(l) <= N or i in strings or l.startswith('__all__ ='): continue
        bad.append(f'{f.relative_to(root)}:{i}: {len(l)} characters')
# functions and export cells: 60 lines at most, except where LONG_OK says why
import ast, json
LONG_OK = {'Stepper': 'a class whose methods (step, DDP context, end of epoch, state) read as one unit'}
for f in sorted((root/'ltmoo').rglob('*.py')):
    if f.name == '_modidx.py': continue
    for node in ast.walk(ast.parse(f.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 60:
            bad.append(f'{f.relative_to(root)}:{node.lineno}: function {node.name} is {node.end_lineno - node.lineno + 1} lines')
for nb in sorted((root/'nbs').glob('*.ipynb')):
    for c in json.load(open(nb))['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] != 'code' or not src.startswith('#| export') or len(src.splitlines()) <= 60: continue
        names = {n.name for n in ast.parse(src).body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
        if not names & set(LONG_OK): bad.append(f"{nb.relative_to(root)}: export cell {c.get('id')} is {len(src.splitlines())} lines")
print('\n'.join(bad) if bad else f'ltmoo/**/*.py: no code line over {N} characters, no function over 60 lines; '
      f'nbs/: no export cell over 60 lines (except {", ".join(LONG_OK)}: see LONG_OK)')
sys.exit(1 if bad else 0)
