"""Keep the Babel catalogs in step with the code.

    python tools/catalogs.py update    # extract messages, merge into locales/*/LC_MESSAGES/*.po
    python tools/catalogs.py compile   # .po -> .mo (the shipped, compiled catalogs)
    python tools/catalogs.py check     # exit 1 if a message lacks a translation or a .mo is stale

Msgids are English, so the `en` catalog is filled with the msgid itself; `vi` is translated by
hand. Messages are split into domains by the file they come from (see DOMAINS), so each area of
the bot owns its own `.po` file.
"""

from __future__ import annotations

import fnmatch
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
LANGS = ("vi", "en")
SOURCES = ("bot", "handlers", "schedules")

# domain -> file patterns (relative to the repo root); the first match wins.
DOMAINS: dict[str, tuple[str, ...]] = {
    "awards": (
        "handlers/register_titles.py",
        "handlers/picks.py",
        "handlers/review_precheck.py",
        "bot/core/registration.py",
        "bot/core/eligibility.py",
        "bot/core/ratings.py",
        "bot/core/citations.py",
        "bot/cli/awards.py",
        "bot/core/exports/registration*",
        "bot/core/templates/awards/*",
        "bot/core/templates/events/registration*",
        "schedules/outbox/registration*",
    ),
    "web": ("bot/channels/web/*", "bot/core/web_auth.py", "handlers/web.py"),
    "telegram": ("bot/channels/telegram*.py",),
    "zalo": ("bot/channels/zalo*.py",),
    "council": (
        "bot/core/council.py",
        "bot/core/ballot_traces.py",
        "bot/core/exports/dossier*.py",
        "bot/cli/council.py",
        "handlers/council.py",
        "handlers/ballot.py",
        "bot/core/templates/council/*",
    ),
    "pushes": (
        "schedules/*",
        "bot/delivery/*",
        "bot/cli/pushes.py",
        "handlers/remind.py",
        "handlers/broadcast.py",
        "bot/core/templates/push/*",
    ),
    "clerk": (
        "bot/core/summary.py",
        "bot/cli/clerk.py",
        "bot/core/exports/*",
        "handlers/summary.py",
        "handlers/export.py",
        "handlers/review.py",
        "bot/core/templates/clerk/*",
    ),
    "ops": (
        "bot/cli/ops*.py",
        "bot/core/backup.py",
        "bot/cli/doctor.py",
        "bot/core/audit_log.py",
        "bot/core/health.py",
    ),
    "thidua": ("*",),
}

METHODS = [("**/templates/**.j2", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {
    "**/templates/**.j2": {
        "extensions": "jinja2.ext.i18n",
        "trim_blocks": "True",
        "lstrip_blocks": "True",
    }
}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def domain_of(path: str) -> str:
    for domain, patterns in DOMAINS.items():
        if any(fnmatch.fnmatch(path, p) for p in patterns):
            return domain
    return "thidua"


def extract() -> dict[str, Catalog]:
    """Every translatable message in the sources, by domain.

    A message used by several areas belongs to the core domain if core code uses it, else to
    the first area that does: so a shared word like "Phase" stays put as areas come and go.
    """
    found: dict[str, list] = {}
    for source in SOURCES:
        for filename, lineno, message, comments, _context in extract_from_dir(
            ROOT / source, METHODS, OPTIONS, keywords=KEYWORDS
        ):
            key = message if isinstance(message, str) else message[0]
            found.setdefault(key, []).append((message, f"{source}/{filename}", lineno, comments))
    catalogs: dict[str, Catalog] = {d: Catalog(domain=d) for d in DOMAINS}
    for uses in found.values():
        domains = [domain_of(path) for _m, path, _l, _c in uses]
        domain = "thidua" if "thidua" in domains else domains[0]
        message, path, lineno, comments = uses[0]
        catalogs[domain].add(message, locations=[(path, lineno)], auto_comments=comments)
    return catalogs


def po_path(lang: str, domain: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{domain}.po"


def read(lang: str, domain: str) -> Catalog:
    path = po_path(lang, domain)
    if not path.exists():
        return Catalog(locale=lang, domain=domain)
    with path.open("rb") as fp:
        return read_po(fp, locale=lang, domain=domain)


def known_translations(lang: str) -> dict[str, object]:
    """Every translation of `lang` in any domain: a message that moves domain keeps it."""
    known: dict[str, object] = {}
    for po in sorted((LOCALES / lang / "LC_MESSAGES").glob("*.po")):
        for msg in read(lang, po.stem):
            if msg.id and msg.string and (not isinstance(msg.string, tuple) or all(msg.string)):
                known.setdefault(msg.id if isinstance(msg.id, str) else msg.id[0], msg.string)
    return known


def update() -> None:
    known = {lang: known_translations(lang) for lang in LANGS}
    for domain, template in extract().items():
        for lang in LANGS:
            old = read(lang, domain)
            new = Catalog(
                locale=lang,
                domain=domain,
                project="thidua",
                language_team=lang,
                fuzzy=False,
                creation_date=old.creation_date,  # no churn in the header on every update
            )
            for msg in template:
                if not msg.id:
                    continue
                kept = old.get(msg.id)
                key = msg.id if isinstance(msg.id, str) else msg.id[0]
                empty = ("", "") if msg.pluralizable else ""
                string = kept.string if kept is not None and kept.string else empty
                string = string or known[lang].get(key, empty)
                if lang == "en":
                    string = msg.id
                new.add(msg.id, string, locations=msg.locations, auto_comments=msg.auto_comments)
            if not len(new) and not po_path(lang, domain).exists():
                continue
            po_path(lang, domain).parent.mkdir(parents=True, exist_ok=True)
            with po_path(lang, domain).open("wb") as fp:
                write_po(fp, new, width=99, sort_output=False, omit_header=False)
    compile_all()


def _mo_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog)
    return buf.getvalue()


def _messages(catalog: Catalog) -> dict[object, object]:
    """What a catalog translates: msgid -> msgstr, without the header (whose "Generated-By"
    names the Babel version that wrote it, which a fresh install does not share), and, as
    `write_mo` does, without the untranslated and the fuzzy (reported as untranslated)."""
    return {msg.id: msg.string for msg in catalog if msg.id and msg.string and not msg.fuzzy}


def _stale(po: Path) -> bool:
    """The compiled catalog does not translate what its .po says."""
    mo = po.with_suffix(".mo")
    if not mo.exists():
        return True
    lang, domain = po.parent.parent.name, po.stem
    with mo.open("rb") as fp:
        compiled = read_mo(fp)
    return _messages(compiled) != _messages(read(lang, domain))


def compile_all() -> None:
    for po in LOCALES.glob("*/LC_MESSAGES/*.po"):
        lang, domain = po.parent.parent.name, po.stem
        po.with_suffix(".mo").write_bytes(_mo_bytes(read(lang, domain)))


def problems() -> list[str]:
    """Untranslated or missing messages, and compiled catalogs that lag their .po."""
    found = []
    for domain, template in extract().items():
        for lang in LANGS:
            catalog = read(lang, domain)
            for msg in template:
                if not msg.id:
                    continue
                have = catalog.get(msg.id)
                strings = have.string if have is not None else ""
                strings = strings if isinstance(strings, tuple) else (strings,)
                if have is None or not all(strings):
                    first = msg.id if isinstance(msg.id, str) else msg.id[0]
                    found.append(
                        f"{lang}/{domain}: untranslated: {first!r} ({msg.locations[0][0]})"
                    )
    for po in sorted(LOCALES.glob("*/LC_MESSAGES/*.po")):
        if _stale(po):
            mo = po.with_suffix(".mo")
            found.append(f"{mo.relative_to(ROOT)}: stale; run tools/catalogs.py compile")
    return found


def main(argv: list[str]) -> int:
    action = argv[1] if len(argv) > 1 else "check"
    if action == "update":
        update()
    elif action == "compile":
        compile_all()
    found = problems()
    for line in found:
        print(line)
    return 1 if found and action == "check" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
