"""docs/ACCESSIBILITY.md defines every rule id the project cites, and its "checked in" cells are true.

The rule ids (LP, EM, TT, TS, LA, CP) are cited in code comments, docstrings, violation
messages, config and the README; the document is their one definition. These tests fail when
an id is cited that the document lacks, or when the document points at a file or function
that does not exist (renamed, moved or never written).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ACCESSIBILITY.md"

FAMILIES = ("LP", "EM", "TT", "TS", "LA", "CP")
RULE_ID = re.compile(r"\b(LP|EM|TT|TS|LA|CP)-(\d+)\b")
# "TT-1..9", "LP-1…18", "CP-1…CP-4": a citation of every rule in the range.
RULE_RANGE = re.compile(r"\b(LP|EM|TT|TS|LA|CP)-(\d+)\s*(?:\.\.\.?|…|–)\s*(?:\1-)?(\d+)\b")
# A file named in a "checked in" cell: `path/to/file.py` or `path/to/file.py::name`.
NAMED_FILE = re.compile(r"`([\w./-]+\.(?:py|toml|j2|js|json|md))(?:::(\w+))?`")
CELL_SPLIT = re.compile(r"(?<!\\)\|")

# Files issue 11 is adding while this document is written (the CP check). A row may name them
# before they land; once a file exists it is checked like any other. Empty this set then.
PENDING: frozenset[str] = frozenset()

# Where rule ids are cited: the package, the README, the config and the templates.
CITING = ("commhub", "README.md", "config.toml", "templates")
TEXT_SUFFIXES = frozenset({".py", ".md", ".toml", ".j2", ".po", ".pot", ".sql", ".txt"})


def rule_rows() -> dict[str, list[str]]:
    """Each table row of the document whose first cell is a rule id: id -> its cells."""
    rows: dict[str, list[str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in CELL_SPLIT.split(line.strip().strip("|"))]
        if not RULE_ID.fullmatch(cells[0]):
            continue
        assert cells[0] not in rows, f"{cells[0]} has two rows in {DOC.name}"
        assert len(cells) == 4, f"{cells[0]}: expected id | rule | source | checked in"
        rows[cells[0]] = cells
    return rows


def cited_files() -> list[Path]:
    out: list[Path] = []
    for name in CITING:
        path = ROOT / name
        if path.is_file():
            out.append(path)
        else:
            out += sorted(p for p in path.rglob("*") if p.suffix in TEXT_SUFFIXES and p.is_file())
    return out


def cited_ids(text: str) -> set[str]:
    ids = {f"{fam}-{n}" for fam, n in RULE_ID.findall(text)}
    for fam, first, last in RULE_RANGE.findall(text):
        ids |= {f"{fam}-{n}" for n in range(int(first), int(last) + 1)}
    return ids


def defines(source: str, name: str) -> bool:
    """Whether `source` defines `name` as a function, class or module-level name."""
    pattern = rf"^\s*(?:async\s+def|def|class)\s+{re.escape(name)}\b|^{re.escape(name)}\s*[:=]"
    return re.search(pattern, source, re.MULTILINE) is not None


def test_every_cited_rule_id_is_defined_in_the_document() -> None:
    defined = set(rule_rows())
    missing: dict[str, list[str]] = {}
    for path in cited_files():
        for rule in cited_ids(path.read_text(encoding="utf-8")) - defined:
            missing.setdefault(rule, []).append(str(path.relative_to(ROOT)))
    assert not missing, f"rule ids cited but not defined in docs/ACCESSIBILITY.md: {missing}"


def test_each_family_is_numbered_from_one_without_gaps() -> None:
    numbers: dict[str, list[int]] = {fam: [] for fam in FAMILIES}
    for rule in rule_rows():
        fam, n = rule.split("-")
        numbers[fam].append(int(n))
    for fam, found in numbers.items():
        assert found, f"no {fam} rules in docs/ACCESSIBILITY.md"
        assert found == list(range(1, len(found) + 1)), f"{fam} rules out of order: {found}"


def test_every_rule_row_names_existing_files_and_functions() -> None:
    problems: list[str] = []
    for rule, cells in rule_rows().items():
        named = NAMED_FILE.findall(cells[3])
        if not named:
            problems.append(f"{rule}: its 'checked in' cell names no file")
        for rel, name in named:
            path = ROOT / rel
            if not path.is_file():
                if rel not in PENDING:
                    problems.append(f"{rule}: {rel} does not exist")
                continue
            if name and not defines(path.read_text(encoding="utf-8"), name):
                problems.append(f"{rule}: {rel} defines no {name!r}")
    assert not problems, "\n".join(problems)


def test_the_readme_links_the_rules_in_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = readme.index("ACCESSIBILITY.md")
    line_start = readme.rfind("\n", 0, first) + 1
    line = readme[line_start : readme.index("\n", first)]
    assert "(docs/ACCESSIBILITY.md)" in line, f"first mention is not a link: {line!r}"


def test_nothing_points_outside_the_repository_for_the_rules() -> None:
    outside = re.compile(r"\.\./shared|/work/[s]hared")
    offenders = [
        str(p.relative_to(ROOT))
        for p in [*cited_files(), *sorted((ROOT / "tests").rglob("*.py"))]
        if "node_modules" not in p.parts and outside.search(p.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"these files point outside the repository: {offenders}"
