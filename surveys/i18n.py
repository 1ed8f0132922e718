"""Nilai's gettext catalogues: compile them (no GNU gettext needed) and harvest new strings.

Every user-facing text is a gettext call with an English msgid; the Indonesian is in
``locale/id/LC_MESSAGES/django.po`` (the default language, settings.LANGUAGE_CODE), the English
catalogue ``locale/en`` repeats the msgid so that a wording can be changed there without touching
the code. Code that adds a string writes its Indonesian directly above it::

    # Translators: id: Ekspor gagal.
    detail = _("The export failed.")

(in a template: ``{# Translators: id: ... #}`` before ``{% translate "..." %}``).

    python -m surveys.i18n harvest   # add new msgids (Indonesian from the comments), drop unused
    python -m surveys.i18n compile   # .po -> .mo where the .mo is missing or older (polib)
    python -m surveys.i18n check     # exit 1 when a msgid has no Indonesian or a .mo is stale

The .mo files are build products (not committed): `make setup`/`make test`/`make demo` and the
test session (tests/conftest.py) compile stale catalogues; `manage.py compilemessages` does the
same (surveys/management/commands/compilemessages.py); system check nilai.W301 warns when a
catalogue is not compiled. This module imports no Django, so the Makefile can run it before the
project is configured.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
LANGUAGES = ("id", "en")
#: where harvest looks for strings (Python files and Django templates)
SOURCES = ("surveys", "backend")
SKIP_DIRS = {"migrations", "__pycache__"}

HEADERS = {
    "id": {"Language": "id", "Plural-Forms": "nplurals=1; plural=0;"},
    "en": {"Language": "en", "Plural-Forms": "nplurals=2; plural=(n != 1);"},
}
BASE_HEADER = {
    "Project-Id-Version": "nilai",
    "MIME-Version": "1.0",
    "Content-Type": "text/plain; charset=UTF-8",
    "Content-Transfer-Encoding": "8bit",
}

#: gettext functions -> (position of the context argument or None, position of the msgid,
#: position of the plural msgid or None)
FUNCTIONS = {
    "_": (None, 0, None), "gettext": (None, 0, None), "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None), "_noop": (None, 0, None), "N_": (None, 0, None),
    "pgettext": (0, 1, None), "pgettext_lazy": (0, 1, None),
    "ngettext": (None, 0, 1), "ngettext_lazy": (None, 0, 1),
}
NOOP = {"gettext_noop", "_noop", "N_"}
TRANSLATORS = re.compile(r"Translators:\s*id:\s*(.*)", re.S)
_TEMPLATE_TAG = re.compile(
    r"""\{%\s*(?:translate|trans)\s+(?P<q>["'])(?P<msgid>.*?)(?P=q)"""
    r"""(?:\s+context\s+(?P<q2>["'])(?P<ctx>.*?)(?P=q2))?(?:\s+as\s+\w+)?\s*%\}""", re.S)
_BLOCK_TAG = re.compile(
    r"""\{%\s*blocktrans(?:late)?(?P<args>[^%]*)%\}(?P<body>.*?)\{%\s*endblocktrans(?:late)?\s*%\}""",
    re.S)
_TEMPLATE_COMMENT = re.compile(r"\{#\s*Translators:\s*id:\s*(?P<text>.*?)\s*#\}", re.S)


def po_path(lang: str, root: Path = ROOT) -> Path:
    return root / "locale" / lang / "LC_MESSAGES" / "django.po"


def mo_path(lang: str, root: Path = ROOT) -> Path:
    return po_path(lang, root).with_suffix(".mo")


# --- compile ----------------------------------------------------------------------------------


def stale(root: Path = ROOT) -> list[tuple[str, str]]:
    """(language, reason) for each catalogue whose .mo is missing or older than its .po."""
    out = []
    for lang in LANGUAGES:
        po, mo = po_path(lang, root), mo_path(lang, root)
        if not po.exists():
            out.append((lang, f"{po.relative_to(root)} is missing"))
        elif not mo.exists():
            out.append((lang, f"{mo.relative_to(root)} is missing"))
        elif mo.stat().st_mtime < po.stat().st_mtime:
            out.append((lang, f"{mo.relative_to(root)} is older than its .po"))
    return out


def compile_catalogues(root: Path = ROOT, *, force: bool = False) -> list[Path]:
    """Write the .mo of every catalogue whose .mo is missing or older than its .po; returns the
    files written. Fuzzy entries are left out (like msgfmt)."""
    written = []
    for lang in LANGUAGES:
        po, mo = po_path(lang, root), mo_path(lang, root)
        if not po.exists():
            continue
        if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        catalogue = polib.pofile(str(po))
        tmp = mo.with_suffix(f".mo.{os.getpid()}.tmp")
        catalogue.save_as_mofile(str(tmp))
        tmp.replace(mo)  # atomic: a concurrent reader sees the old or the new file
        written.append(mo)
    return written


# --- harvest ----------------------------------------------------------------------------------


@dataclass
class Found:
    """One msgid in the code, with its Indonesian (from a Translators comment) if any."""

    msgid: str
    context: str | None = None
    plural: str | None = None
    indonesian: str | None = None
    refs: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.context, self.msgid)


def _comment_above(lines: list[str], lineno: int) -> str | None:
    """The Indonesian of a ``# Translators: id: ...`` comment block ending right above line
    `lineno` (1-based), continuation comment lines included."""
    block: list[str] = []
    i = lineno - 2
    while i >= 0 and lines[i].strip().startswith("#"):
        block.insert(0, lines[i].strip()[1:].strip())
        i -= 1
    text = None
    for j, line in enumerate(block):
        match = TRANSLATORS.match(line)
        if match:
            text = " ".join([match.group(1).strip(), *block[j + 1:]]).strip()
    return text or None


def _literal(node: ast.Call, at: int | None) -> str | None:
    if at is None or at >= len(node.args):
        return None
    arg = node.args[at]
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


def _python_strings(path: Path, root: Path) -> Iterator[Found]:
    source = path.read_text(encoding="utf-8")
    if "gettext" not in source and "_(" not in source and "N_(" not in source:
        return
    tree = ast.parse(source, filename=str(path))
    lines = source.splitlines()
    rel = path.relative_to(root).as_posix()
    # a table entry ("context", _noop("msgid")) is translated with pgettext (surveys.language)
    contexts: dict[int, str] = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Tuple) and len(node.elts) == 2
                and isinstance(node.elts[0], ast.Constant) and isinstance(node.elts[0].value, str)
                and isinstance(node.elts[1], ast.Call)):
            contexts[id(node.elts[1])] = node.elts[0].value
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else (
            node.func.attr if isinstance(node.func, ast.Attribute) else None)
        if name not in FUNCTIONS:
            continue
        ctx_at, msg_at, plural_at = FUNCTIONS[name]

        msgid = _literal(node, msg_at)
        if not msgid:
            continue
        context = _literal(node, ctx_at) if ctx_at is not None else (
            contexts.get(id(node)) if name in NOOP else None)
        yield Found(msgid, context, _literal(node, plural_at),
                    _comment_above(lines, node.lineno), [f"{rel}:{node.lineno}"])


def _template_msgid(body: str) -> str:
    """blocktranslate's msgid: ``{{ var }}`` -> ``%(var)s``, a literal % doubled."""
    body = body.replace("%", "%%")
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", r"%(\1)s", body)


def _template_strings(path: Path, root: Path) -> Iterator[Found]:
    """The template's translate/blocktranslate strings in order. A ``{# Translators: id: ... #}``
    comment gives the Indonesian of the next string; ``a | b`` gives those of the next two."""
    source = path.read_text(encoding="utf-8")
    rel = path.relative_to(root).as_posix()
    events = [(m.start(), "comment", m) for m in _TEMPLATE_COMMENT.finditer(source)]
    events += [(m.start(), "tag", m) for m in _TEMPLATE_TAG.finditer(source)]
    events += [(m.start(), "block", m) for m in _BLOCK_TAG.finditer(source)]
    pending: list[str] = []
    for start, kind, match in sorted(events, key=lambda e: e[0]):
        if kind == "comment":
            pending = [" ".join(part.split()) for part in match.group("text").split(" | ")]
            continue
        line = source.count("\n", 0, start) + 1
        indonesian = pending.pop(0) if pending else None
        # Django doubles "%" in a template string before gettext (Variable.resolve, and
        # blocktranslate's text): the msgid and its translation carry "%%"
        if indonesian:
            indonesian = indonesian.replace("%", "%%")
        if kind == "tag":
            yield Found(match.group("msgid").replace("%", "%%"), match.group("ctx"), None,
                        indonesian, [f"{rel}:{line}"])
        else:
            args, body = match.group("args"), match.group("body")
            if "trimmed" in args:
                body = " ".join(body.split())
            ctx = re.search(r"""context\s+(["'])(.*?)\1""", args)
            yield Found(_template_msgid(body), ctx.group(2) if ctx else None, None,
                        indonesian, [f"{rel}:{line}"])


def scan(root: Path = ROOT, sources: Iterable[str] = SOURCES) -> dict[tuple[str | None, str],
                                                                       Found]:
    """Every translatable string of the code and templates, by (context, msgid)."""
    found: dict[tuple[str | None, str], Found] = {}
    for top in sources:
        for path in sorted((root / top).rglob("*")):
            if SKIP_DIRS & set(path.relative_to(root).parts) or not path.is_file():
                continue
            if path.suffix == ".py":
                items = _python_strings(path, root)
            elif path.suffix in (".html", ".txt") and "templates" in path.parts:
                items = _template_strings(path, root)
            else:
                continue
            for item in items:
                have = found.get(item.key)
                if have is None:
                    found[item.key] = item
                else:
                    have.refs += item.refs
                    have.indonesian = have.indonesian or item.indonesian
                    have.plural = have.plural or item.plural
    return found


def _load(lang: str, root: Path) -> polib.POFile:
    path = po_path(lang, root)
    if path.exists():
        return polib.pofile(str(path), wrapwidth=0)
    catalogue = polib.POFile(wrapwidth=0)
    catalogue.metadata = {**BASE_HEADER, **HEADERS[lang]}
    return catalogue


@dataclass
class Harvest:
    added: list[tuple[str | None, str]]
    removed: list[tuple[str | None, str]]
    #: msgids added with no Indonesian (no Translators comment): to be translated in the .po
    untranslated: list[tuple[str | None, str]]
    #: a Translators comment whose Indonesian differs from the catalogue's (the .po wins)
    differs: list[tuple[str | None, str, str, str]]


def harvest(root: Path = ROOT, *, write: bool = True, prune: bool = True) -> Harvest:
    """Bring both catalogues in line with the code: add the new msgids (Indonesian from their
    Translators comment, English = msgid), drop the msgids no code uses any more (`prune`),
    refresh the source references. The existing Indonesian is never overwritten."""
    found = scan(root)
    result = Harvest([], [], [], [])
    for lang in LANGUAGES:
        catalogue = _load(lang, root)
        have = {(e.msgctxt, e.msgid): e for e in catalogue if not e.obsolete}
        for key, item in sorted(found.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
            entry = have.get(key)
            if entry is None:
                entry = polib.POEntry(msgctxt=item.context, msgid=item.msgid)
                if item.plural:
                    entry.msgid_plural = item.plural
                if lang == "id":
                    text = item.indonesian or ""
                    if item.plural:
                        entry.msgstr_plural = {0: text}
                    else:
                        entry.msgstr = text
                    result.added.append(key)
                    if not text:
                        result.untranslated.append(key)
                elif item.plural:
                    entry.msgstr_plural = {0: item.msgid, 1: item.plural}
                else:
                    entry.msgstr = item.msgid
                catalogue.append(entry)
            elif lang == "id" and item.indonesian:
                current = entry.msgstr_plural.get(0, "") if entry.msgid_plural else entry.msgstr
                if not current:  # untranslated so far: the comment fills it
                    if entry.msgid_plural:
                        entry.msgstr_plural = {0: item.indonesian}
                    else:
                        entry.msgstr = item.indonesian
                elif current != item.indonesian:
                    result.differs.append((key[0], key[1], current, item.indonesian))
            if "{" in item.msgid and "python-brace-format" not in entry.flags:
                entry.flags.append("python-brace-format")
            entry.occurrences = [(ref.rsplit(":", 1)[0], ref.rsplit(":", 1)[1])
                                 for ref in item.refs[:5]]
        if prune:
            for key, entry in have.items():
                if key not in found:
                    catalogue.remove(entry)
                    if lang == "id":
                        result.removed.append(key)
        catalogue.sort(key=lambda e: ((e.occurrences or [("~", "")])[0][0],
                                      e.msgctxt or "", e.msgid))
        if write:
            path = po_path(lang, root)
            path.parent.mkdir(parents=True, exist_ok=True)
            catalogue.save(str(path))
    return result


def untranslated(root: Path = ROOT) -> list[tuple[str | None, str]]:
    """(context, msgid) of the Indonesian catalogue's entries with an empty msgstr."""
    catalogue = polib.pofile(str(po_path("id", root)))
    return [(e.msgctxt, e.msgid) for e in catalogue if not e.obsolete and (
        not any(e.msgstr_plural.values()) if e.msgid_plural else not e.msgstr)]


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "compile"
    if command == "compile":
        for path in compile_catalogues(force="--force" in argv):
            print(f"compiled {path.relative_to(ROOT)}")
        return 0
    if command == "harvest":
        result = harvest(prune="--keep" not in argv)
        for key in result.added:
            print(f"added {key[1]!r}" + (f" (context {key[0]!r})" if key[0] else ""))
        for key in result.removed:
            print(f"removed {key[1]!r}" + (f" (context {key[0]!r})" if key[0] else ""))
        for _ctx, msgid, old, new in result.differs:
            print(f"kept the catalogue's Indonesian for {msgid!r}: {old!r} (comment: {new!r})")
        for key in result.untranslated:
            print(f"NO INDONESIAN for {key[1]!r}: add it to locale/id/LC_MESSAGES/django.po")
        print(f"{len(result.added)} added, {len(result.removed)} removed, "
              f"{len(result.untranslated)} without Indonesian")
        compile_catalogues()
        return 0
    if command == "check":
        problems = [f"no Indonesian: {m!r}" for _, m in untranslated()] + [
            f"{lang}: {reason}" for lang, reason in stale()]
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
