"""argostranslate, offline: models from the operator, never downloaded (RECIPES.md).

argostranslate reads its settings (packages folder, threads, device) once, at import, so
`load_argostranslate` sets them first; in a process that already imported it, the packages
folder is switched in place and the per-process translator caches are cleared. The lean
`argos-translate-lt` install has no `stanza` (it pulls torch): a stub module is enough because
it is only used for packages that ship a `stanza/` folder.

Nothing here calls argostranslate's network functions (`get_available_packages`,
`update_package_index`, `install_package_for_language_pair`, package download/update).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import sys
import threading
import types
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from commhub.errors import TranslationError

# commhub tag -> argostranslate language code (where they differ).
ARGOS_CODES = {"zh-Hans": "zh", "zh-Hant": "zt", "pt": "pt", "tl": "tl"}
SOURCE_CODE = "en"

_lock = threading.Lock()


def argos_code(tag: str) -> str:
    """The argostranslate code of a commhub language tag (zh-Hans→zh, zh-Hant→zt, …)."""
    return ARGOS_CODES.get(tag, tag.split("-")[0])


@dataclass(frozen=True)
class ArgosModel:
    """One installed translation package, read from its metadata.json."""

    name: str  # argospm name, e.g. translate-en_vi
    version: str
    from_code: str
    to_code: str
    path: Path


def _model_from_metadata(meta: dict[str, Any], path: Path) -> ArgosModel | None:
    if meta.get("type", "translate") != "translate":
        return None
    from_code, to_code = meta.get("from_code"), meta.get("to_code")
    if not isinstance(from_code, str) or not isinstance(to_code, str):
        return None
    return ArgosModel(
        name=f"translate-{from_code}_{to_code}",
        version=str(meta.get("package_version", "")),
        from_code=from_code,
        to_code=to_code,
        path=path,
    )


def installed_models(packages_dir: Path) -> list[ArgosModel]:
    """Every translation package under `packages_dir` (no import of argostranslate needed)."""
    models = []
    if packages_dir.is_dir():
        for child in sorted(packages_dir.iterdir()):
            meta_file = child / "metadata.json"
            if child.is_dir() and meta_file.is_file():
                try:
                    meta = json.loads(meta_file.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                model = _model_from_metadata(meta, child)
                if model is not None:
                    models.append(model)
    return models


def find_model(packages_dir: Path, lang: str) -> ArgosModel:
    """The installed en→lang model, or TranslationError saying how to install one."""
    code = argos_code(lang)
    for model in installed_models(packages_dir):
        if model.from_code == SOURCE_CODE and model.to_code == code:
            return model
    raise TranslationError(
        f"no argostranslate model installed for {SOURCE_CODE}→{lang}; install one with "
        f"argospm or a .argosmodel file (commhub translate install-model FILE); "
        f"models are looked for in {packages_dir}"
    )


def engine_version() -> str:
    """`argostranslate <version>` of the installed distribution."""
    for dist in ("argos-translate-lt", "argostranslate"):
        try:
            return f"argostranslate {importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return "argostranslate (unknown version)"


def load_argostranslate(packages_dir: Path) -> tuple[Any, Any]:
    """Import argostranslate configured for `packages_dir`; return (package, translate) modules."""
    packages_dir = packages_dir.resolve()
    packages_dir.mkdir(parents=True, exist_ok=True)
    with _lock:
        if "argostranslate.settings" not in sys.modules:
            # Read once at import: set them first.
            os.environ["ARGOS_PACKAGES_DIR"] = str(packages_dir)
            os.environ.setdefault("ARGOS_DEVICE_TYPE", "cpu")
            os.environ.setdefault("ARGOS_CHUNK_TYPE", "DEFAULT")
            os.environ.setdefault("ARGOS_INTRA_THREADS", "1")  # ~3x faster for short strings
            if importlib.util.find_spec("stanza") is None:
                sys.modules.setdefault("stanza", types.ModuleType("stanza"))
        try:
            settings: Any = importlib.import_module("argostranslate.settings")
            package = importlib.import_module("argostranslate.package")
            translate = importlib.import_module("argostranslate.translate")
        except ImportError as exc:
            raise TranslationError(
                f"argostranslate is not installed (pip install 'commhub[translate]'): {exc}"
            ) from None
        # argostranslate logs every text it translates at INFO: keep only its warnings.
        logging.getLogger("argostranslate.utils").setLevel(logging.WARNING)
        if Path(settings.package_data_dir).resolve() != packages_dir:
            settings.package_data_dir = packages_dir
            settings.package_dirs = [packages_dir]
            _clear_caches(translate)
    return package, translate


def _clear_caches(translate: Any) -> None:
    # One cached translator per language pair lives for the process: drop them on a swap.
    translate.get_installed_languages.cache_clear()
    translate.installed_translates.clear()


def install_model(path: Path, packages_dir: Path) -> ArgosModel:
    """Install a `.argosmodel` file into `packages_dir` (argostranslate.package.install_from_path)."""
    if not zipfile.is_zipfile(path):
        raise TranslationError(f"{path}: not an .argosmodel file (must be a zip archive)")
    with zipfile.ZipFile(path) as zf:
        tops = {n.split("/", 1)[0] for n in zf.namelist() if n.strip("/")}
        if len(tops) != 1:
            raise TranslationError(f"{path}: an .argosmodel holds exactly one top-level folder")
        top = tops.pop()
        try:
            meta = json.loads(zf.read(f"{top}/metadata.json"))
        except (KeyError, ValueError):
            raise TranslationError(f"{path}: no readable {top}/metadata.json") from None
    model = _model_from_metadata(meta, packages_dir.resolve() / top)
    if model is None:
        raise TranslationError(f"{path}: not a translation package")
    package, translate = load_argostranslate(packages_dir)
    package.install_from_path(path)
    _clear_caches(translate)
    return model


class ArgosEngine:
    """Drafts en→lang with one installed argostranslate model."""

    def __init__(self, lang: str, packages_dir: Path) -> None:
        self.lang = lang
        self.model = find_model(packages_dir, lang)  # before importing: a clear error
        package, self._translate = load_argostranslate(packages_dir)
        name, version = self.model.name, self.model.version
        for pkg in package.get_installed_packages():
            if Path(pkg.package_path).resolve() == self.model.path.resolve():
                name, version = package.argospm_package_name(pkg), pkg.package_version
        self.description = f"{engine_version()}, model {name} {version}"

    def translate(self, text: str) -> str:
        """One machine translation of English `text` (may change or drop anything)."""
        try:
            return str(self._translate.translate(text, SOURCE_CODE, self.model.to_code))
        except Exception as exc:  # argostranslate/ctranslate2 raise many kinds
            raise TranslationError(f"argostranslate failed: {type(exc).__name__}") from exc
