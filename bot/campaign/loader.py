"""Load campaign YAML files and report every problem with ``file:line:column``.

Admins edit these files by hand while a sale may be running, so a typo must come back as a
precise, complete list of problems — never a traceback, never "fix this one, then see the
next". The pipeline (this module runs it and owns the entry points; each stage has its module):

1. ruamel.yaml round-trip parse: keeps the line/column of every key and value; duplicate keys
   are collected (first one wins) instead of aborting the parse (:mod:`bot.campaign.reader`).
2. Pydantic validation of the whole file: every type/range/unknown-key/missing-key error, with
   the error ``loc`` mapped back to the YAML position (:mod:`bot.campaign.structural`).
3. Cross-field checks (times in order, references, duplicates, templates) on every section
   that validated on its own, so that a broken product does not hide a countdown after opening
   (:mod:`bot.campaign.checks`).
4. The 广告法 lint of every admin-written text, each hit at its own column; words the file's
   ``adlaw:`` section or config.yaml's ``adlaw:`` allow pass (:mod:`bot.campaign.adlaw_lint`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from loguru import logger
from pydantic import ValidationError

from bot.campaign.adlaw_lint import adlaw_issues as _adlaw
from bot.campaign.checks import semantic_issues as _semantic
from bot.campaign.models import Campaign
from bot.campaign.problems import CampaignError, Issue, Problem, format_problems
from bot.campaign.problems import field_path as _path
from bot.campaign.reader import MAX_FILE_BYTES, read_yaml
from bot.campaign.reader import Positions as _Positions
from bot.campaign.structural import structural_issues as _structural
from bot.campaign.times import is_anchored
from bot.config import AdlawSettings, Config

Groups = Mapping[str, Collection[str]]  # config.yaml's groups: id -> tags

__all__ = [
    "Anchor",
    "CampaignError",
    "FileReport",
    "Problem",
    "check_paths",
    "duplicate_id_problem",
    "format_problems",
    "load_campaign",
    "parse_campaign",
    "validate_paths",
]


# --------------------------------------------------------------------------- analysis


@dataclass
class _Result:
    """Everything one file yields: the campaign (if clean), problems, positions, raw id."""

    campaign: Campaign | None
    problems: list[Problem]
    positions: _Positions
    raw_id: str | None = None
    anchored: bool = False


def _analyse(
    text: str,
    file: str,
    known_templates: set[str] | None,
    anchor: datetime,
    adlaw: AdlawSettings | None = None,
    groups: Groups | None = None,
) -> _Result:
    read = read_yaml(text)
    positions = read.positions
    document = read.data
    if document is None and read.problems:
        (line, col), loc, message = read.problems[0]
        return _Result(None, [Problem(file, line, col, _path(loc), message)], positions)
    if document is None:
        return _Result(
            None, [Problem(file, 1, 1, "", "file is empty; start from data/campaigns/sample.yaml")], positions
        )
    if not isinstance(document, dict):
        message = "expected a mapping of 'key: value' lines at the top (id:, title:, opens_at: ...)"
        return _Result(None, [Problem(file, 1, 1, "", message)], positions)

    issues: list[Issue] = [Issue(loc, message, pos=pos) for pos, loc, message in read.problems]
    for duplicate in read.duplicates:
        message = f"duplicate key '{duplicate.loc[-1]}' (first on line {duplicate.first_line}); keep one"
        issues.append(Issue(duplicate.loc, message, pos=duplicate.position))

    data = document
    campaign: Campaign | None = None
    try:
        context: dict[str, object] = {"anchor": anchor}
        if groups is not None:
            context["groups"] = groups  # config.yaml's groups: broadcast targets are checked against them
        campaign = Campaign.model_validate(data, context=context)
    except ValidationError as exc:
        issues.extend(_structural(exc))
    issues.extend(_semantic(data, known_templates, positions, anchor))
    issues.extend(_adlaw(data, campaign, adlaw, text, positions))

    problems: set[Problem] = set()
    for issue in issues:
        if issue.pos is not None:
            line, col = issue.pos
        elif issue.where == "key":
            line, col = positions.key(issue.loc)
        elif issue.where == "container":
            line, col = positions.container(issue.loc)
        else:
            line, col = positions.value(issue.loc)
        problems.add(Problem(file, line, col, _path(issue.loc), issue.message))
    raw_id = data.get("id") if isinstance(data.get("id"), str) else None
    ordered = sorted(problems, key=lambda p: (p.line, p.column, p.field, p.message))
    anchored = is_anchored(data.get("opens_at")) or is_anchored(data.get("closes_at"))
    return _Result(campaign if not ordered else None, ordered, positions, raw_id, anchored)


# --------------------------------------------------------------------------- entry points

Anchor = datetime | Callable[[str], datetime] | None
"""What relative openings (``opens_at: +2h``) count from: a moment, a function of the campaign id
returning one (the running bot's persisted first-load time), or None for now."""


def _read(path: Path) -> tuple[str | None, list[Problem]]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            message = f"file is {size // 1024} KB; a campaign file may be at most {MAX_FILE_BYTES // 1024} KB"
            return None, [Problem(str(path), 1, 1, "", message)]
        return path.read_text(encoding="utf-8"), []
    except UnicodeDecodeError:
        return None, [Problem(str(path), 1, 1, "", "not UTF-8 text; save the file as UTF-8")]
    except OSError as exc:
        return None, [Problem(str(path), 1, 1, "", f"cannot read file: {exc.strerror or exc}")]


def _checked(
    text: str,
    file: str,
    known_templates: set[str] | None,
    anchor: datetime,
    adlaw: AdlawSettings | None,
    groups: Groups | None = None,
) -> _Result:
    """:func:`_analyse`, but a bug in the checks becomes a problem naming the file, never a crash.

    The running bot reloads files on save; whatever an admin writes, the reload path must only
    ever see :class:`CampaignError`.
    """
    try:
        return _analyse(text, file, known_templates, anchor, adlaw, groups)
    except Exception as exc:
        logger.opt(exception=exc).error("campaign file {} could not be checked", file)
        message = f"could not be checked ({type(exc).__name__}); the file is refused, please report this"
        return _Result(None, [Problem(file, 1, 1, "", message)], _Positions())


def _anchored(
    text: str,
    file: str,
    known_templates: set[str] | None,
    anchor: Anchor,
    adlaw: AdlawSettings | None = None,
    groups: Groups | None = None,
) -> _Result:
    """Check the file; a relative opening counts from ``anchor`` (asked for only if the file is good)."""
    provisional = anchor if isinstance(anchor, datetime) else datetime.now(UTC)
    result = _checked(text, file, known_templates, provisional, adlaw, groups)
    if callable(anchor) and result.campaign is not None and result.anchored:
        try:
            fixed = anchor(result.campaign.id)
        except Exception as exc:
            logger.opt(exception=exc).error("no anchor time for campaign file {}", file)
            message = f"could not read when this campaign was first loaded ({type(exc).__name__}); try again"
            return _Result(None, [Problem(file, 1, 1, "opens_at", message)], result.positions)
        if fixed != provisional:
            result = _checked(text, file, known_templates, fixed, adlaw, groups)
    return result


def parse_campaign(
    text: str,
    file: str = "<string>",
    *,
    known_templates: set[str] | None = None,
    anchor: Anchor = None,
    adlaw: AdlawSettings | None = None,
    groups: Groups | None = None,
) -> Campaign:
    """Validate campaign YAML text; ``file`` is only used in problem reports.

    ``adlaw`` is config.yaml's ``adlaw_for("")``: words allowed or added for every campaign.
    ``groups`` is config.yaml's groups (id -> tags): when given, a broadcast naming a group or
    tag that does not exist is a problem at its line.

    Raises:
        CampaignError: with every problem found (and nothing else, whatever the text).
    """
    result = _anchored(text, file, known_templates, anchor, adlaw, groups)
    if result.campaign is None:
        raise CampaignError(result.problems)
    return result.campaign


def load_campaign(
    path: Path,
    *,
    known_templates: set[str] | None = None,
    anchor: Anchor = None,
    adlaw: AdlawSettings | None = None,
    groups: Groups | None = None,
) -> Campaign:
    """Load and validate one campaign file.

    Args:
        path: the YAML file.
        known_templates: template names that exist (e.g. files under ``templates/``); when
            given, a ``template:`` naming anything else is a problem.
        anchor: what ``opens_at: +2h`` counts from (see :data:`Anchor`); default now.
        adlaw: config.yaml's 广告法 entries for all groups (``config.adlaw_for("")``).
        groups: config.yaml's groups, id -> tags (see :func:`parse_campaign`).

    Raises:
        CampaignError: with every problem found, each with file, line and column — and never any
            other exception, so a live reload cannot be knocked over by a file.
    """
    text, problems = _read(path)
    if text is None:
        raise CampaignError(problems)
    return parse_campaign(
        text, str(path), known_templates=known_templates, anchor=anchor, adlaw=adlaw, groups=groups
    )


def load_configured(
    path: Path, config: Config, *, known_templates: set[str] | None = None, anchor: Anchor = None
) -> Campaign:
    """:func:`load_campaign` with what config.yaml says about every campaign: its 广告法 entries for
    all groups and its groups (the running bot's reloads and `tuanbot campaign validate`)."""
    return load_campaign(
        path,
        known_templates=known_templates,
        anchor=anchor,
        adlaw=config.adlaw_for(""),
        groups=config_groups(config),
    )


def config_groups(config: Config) -> Groups:
    return {group_id: settings.tags for group_id, settings in config.groups.items()}


def duplicate_id_problem(campaign_id: str, path: Path, other: Path) -> Problem:
    """The problem for a campaign id that ``other`` already uses, at the ``id:`` line of ``path``.

    Both files are named: the operator may have edited either one (often the copy of the sample).
    """
    line, column = 1, 1
    text, _ = _read(path)
    for number, row in enumerate((text or "").splitlines(), start=1):
        if row.startswith("id:"):
            line, column = number, min(len(row), len(row) - len(row[3:].lstrip()) + 1)
            break
    message = (
        f"campaign id '{campaign_id}' is already used by {other}; {path.name} and {other.name} "
        "need different ids (change it in the one you copied or added)"
    )
    return Problem(str(path), line, column, "id", message)


def _files(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    files: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml")))
        elif path.exists():
            files.append(path)
        else:
            problems.append(Problem(str(path), 1, 1, "", "no such file or directory"))
    return files, problems


@dataclass(frozen=True)
class FileReport:
    """What checking one file gave: its campaign (if clean) and its problems."""

    path: Path
    campaign: Campaign | None
    problems: list[Problem]


def check_paths(
    paths: list[Path],
    *,
    known_templates: set[str] | None = None,
    anchor: Anchor = None,
    adlaw: AdlawSettings | None = None,
    groups: Groups | None = None,
) -> tuple[list[FileReport], list[Problem]]:
    """Check files and directories (their ``*.yaml``/``*.yml``, not recursive), one report per file.

    A campaign id used by more than one file is a problem in each of them, naming both; only the
    first file's campaign is kept. The second list holds paths that do not exist.
    """
    files, missing = _files(paths)
    reports: list[FileReport] = []
    owners: dict[str, Path] = {}
    for path in files:
        text, read_problems = _read(path)
        if text is None:
            reports.append(FileReport(path, None, read_problems))
            continue
        result = _anchored(text, str(path), known_templates, anchor, adlaw, groups)
        problems = list(result.problems)
        campaign = result.campaign
        if result.raw_id is not None and result.raw_id in owners:
            other = owners[result.raw_id]
            problems.append(duplicate_id_problem(result.raw_id, path, other))
            campaign = None
        elif result.raw_id is not None:
            owners[result.raw_id] = path
        reports.append(FileReport(path, campaign, problems))
    return reports, missing


def validate_paths(
    paths: list[Path],
    *,
    known_templates: set[str] | None = None,
    anchor: Anchor = None,
    adlaw: AdlawSettings | None = None,
) -> tuple[list[Campaign], list[Problem]]:
    """Validate files and directories (their ``*.yaml``/``*.yml``, not recursive).

    Returns the campaigns that loaded cleanly and every problem, including campaign ids used by
    more than one file (the later file is reported, naming both, and its campaign left out).
    """
    reports, problems = check_paths(paths, known_templates=known_templates, anchor=anchor, adlaw=adlaw)
    campaigns = [r.campaign for r in reports if r.campaign is not None]
    return campaigns, [*problems, *(p for r in reports for p in r.problems)]
