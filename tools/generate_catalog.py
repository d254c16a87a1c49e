"""Write the rule catalog (rules/*.yml and rules/skipped.json) from tools/rmm_facts.yaml.

Usage::

    python tools/generate_catalog.py            # rewrite rules/ in place
    python tools/generate_catalog.py -o DIR     # write into DIR, e.g. to compare

The output is deterministic: tools and values are sorted, rule ids are UUIDv5 over a fixed
namespace and the tool's name plus the rule's kind, and nothing depends on the clock. The one
hand-written document, the founding SupRemo signer rule, is copied unchanged from the first
document of rules/supremo.yml.

Choices, each also written into the notes of the rules it affects:

* Values the fact table marks ``unsure`` are left out and listed in skipped.json.
* Signers a vendor shares across products (:data:`rmmdetect.lint.SHARED_SIGNERS`) are never a
  detection on their own. The certificate table has no process name to combine them with, so
  they are left out of the signer rule; the tool's process and network rules cover it.
* ``*.example.com`` becomes ``endswith '.example.com'`` plus ``equals 'example.com'``.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import yaml

from rmmdetect.lint import SHARED_SIGNERS, is_shared_signer, tool_slug
from rmmdetect.scaffold import KINDS, RuleSpec, domain_matches, is_host_pattern, rule_lines

REPO: Final = Path(__file__).resolve().parents[1]
NAMESPACE: Final = uuid.UUID("5b0e7c52-3f7a-4d2e-9c61-8a4f2d9e0b17")
"""The fixed namespace of every generated rule id; never change it."""
DATE: Final = "2026-12-03"
AUTHOR: Final = "rmmdetect developers"
FOUNDING_TOOL: Final = "Supremo"
FOUNDING_BLOCK: Final = {"name": "SupRemo", "vendor": "Nanosystems S.R.L.", "website": None}
STATUS: Final = {"signer": "test", "process": "test", "network": "experimental"}
"""Each rule kind's status: domains are experimental (see the network rules' notes)."""

OTHER_PRODUCT: Final[dict[tuple[str, str], str]] = {
    ("Atera", "syncrosetup.exe"): "the fact table's notes call it Syncro's installer",
    ("Tactical RMM", "login.tailscale.com"): "Tailscale's login service, used by every "
    "Tailscale client, not only Tactical RMM",
}
"""Values the fact table files under a tool but that belong to another product."""


@dataclass
class Plan:
    """What one tool's rules use and leave out."""

    tool: dict[str, Any]
    slug: str
    family: dict[str, set[str]] = field(default_factory=dict)
    """The tools each usable signer value (lower case) is given for in the fact table."""
    skipped: list[dict[str, str]] = field(default_factory=list)

    def skip(self, kind: str, value: str, reason: str, detail: str) -> None:
        """Record a fact the catalog leaves out."""
        self.skipped.append(
            {
                "tool": self.tool["tool"],
                "kind": kind,
                "value": value,
                "reason": reason,
                "detail": detail,
            }
        )


def load_facts(path: Path) -> dict[str, Any]:
    """Read the fact table."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def _commits(meta: dict[str, Any]) -> dict[str, str]:
    commits = {}
    for key, value in meta["snapshots"].items():
        commits[key] = str(value).split()[0]
    return commits


def source_url(ref: str, commits: dict[str, str]) -> str:
    """Turn ``owner/repo@commit:path`` (or ``owner/repo:path``) into a GitHub URL at a commit.

    A short commit is expanded from the fact table's snapshots; a reference without one takes
    the snapshot the table records for that file.
    """
    repo_part, _, path = ref.partition(":")
    repo, _, short = repo_part.partition("@")
    if short:
        full = next(c for key, c in commits.items() if key == repo and c.startswith(short))
    else:
        name = path.rsplit("/", 1)[-1].removeprefix("command_and_control_new_terms_")
        full = next(c for key, c in commits.items() if key == f"{repo} ({name})")
    kind = "tree" if path.endswith("/") or not path else "blob"
    return f"https://github.com/{repo}/{kind}/{full}/{quote(path.rstrip('/'))}"


def _sources(*groups: Iterable[str]) -> set[str]:
    return {ref for group in groups for ref in group}


def signer_values(plan: Plan) -> tuple[list[str], list[str], set[str]]:
    """Split a tool's usable signers into exact subjects and has-terms; skip the rest."""
    exact: list[str] = []
    terms: list[str] = []
    refs: set[str] = set()
    for signer in plan.tool.get("signers", []):
        value = signer["value"]
        if "unsure" in signer:
            plan.skip("signer", value, "unsure", signer["unsure"])
        elif is_shared_signer(value):
            plan.skip("signer", value, "shared-signer", SHARED_SIGNERS[value.strip().lower()])
        else:
            target = exact if signer["match"] == "exact_subject" else terms
            if value not in target:
                target.append(value)
            refs |= _sources(signer["sources"])
    return sorted(exact), sorted(terms), refs


def process_values(plan: Plan) -> tuple[list[str], list[str], set[str]]:
    """Return a tool's usable process names and PE company terms; skip the rest."""
    names: list[str] = []
    refs: set[str] = set()
    for process in plan.tool.get("processes", []):
        value = process["value"]
        if "unsure" in process:
            plan.skip("process", value, "unsure", process["unsure"])
        elif "*" in value or "(" in value:
            plan.skip("process", value, "pattern", "a wildcard pattern, not a file name")
        elif not value.lower().endswith(".exe"):
            plan.skip("process", value, "not-an-executable", "a process image is an .exe")
        elif (plan.tool["tool"], value) in OTHER_PRODUCT:
            plan.skip("process", value, "other-product", OTHER_PRODUCT[plan.tool["tool"], value])
        elif value.lower() not in {n.lower() for n in names}:
            names.append(value)
            refs.add(process["source"])
    companies: list[str] = []
    pe = plan.tool.get("pe_company_terms")
    for value in pe["values"] if pe else ():
        if is_shared_signer(value):
            reason = SHARED_SIGNERS[value.strip().lower()]
            plan.skip("pe_company", value, "shared-company", reason)
        elif value not in companies:
            companies.append(value)
            refs.add(pe["source"])
    return sorted(names, key=str.lower), sorted(companies), refs


def domain_values(plan: Plan) -> tuple[list[str], set[str]]:
    """Return a tool's usable domains (host names or ``*.suffix``); skip unsure or odd values."""
    domains: set[str] = set()
    refs: set[str] = set()
    for domain in plan.tool.get("domains", []):
        value = domain["value"]
        if "unsure" in domain:
            plan.skip("domain", value, "unsure", domain["unsure"])
        elif not is_host_pattern(value):
            plan.skip("domain", value, "unsure", "not a host name or *.suffix")
        elif (plan.tool["tool"], value) in OTHER_PRODUCT:
            plan.skip("domain", value, "other-product", OTHER_PRODUCT[plan.tool["tool"], value])
        else:
            domains.add(value)
            refs.add(domain["source"])
    return sorted(domains), refs


def _skipped_note(plan: Plan, kinds: Iterable[str]) -> str:
    left = [s for s in plan.skipped if s["kind"] in kinds]
    if not left:
        return ""
    parts = [f"'{s['value']}' ({s['reason']}: {s['detail']})" for s in left]
    return " Left out: " + "; ".join(parts) + "."


def _tool_block(tool: dict[str, Any]) -> dict[str, str | None]:
    if tool["tool"] == FOUNDING_TOOL:
        return dict(FOUNDING_BLOCK)
    return {"name": tool["tool"], "vendor": tool["vendor"], "website": None}


_INTRO: Final = (
    "{name} is a remote monitoring and management (RMM) tool by {vendor}. Attackers install "
    "RMM tools to persist on a host and to control it remotely."
)
"""The opening of every description; the vendor is given without its final full stop."""
_FOUNDING_NOTE: Final = (
    " The tool block follows the founding SupRemo rule ('SupRemo', 'Nanosystems S.R.L.'); "
    "the fact table writes 'Supremo' and 'Nanosystems S.r.l.'. The founding rule's exclusion "
    "scenarios name 'sremo.exe', which no source of the fact table lists; the process names "
    "here follow the fact table."
)


def _spec(
    kind: str, tool: dict[str, Any], matches: list[Any], refs: list[str], what: str, notes: str
) -> RuleSpec:
    block = _tool_block(tool)
    name, vendor = block["name"] or "", block["vendor"] or ""
    return RuleSpec(
        kind=kind,
        rule_id=uuid.uuid5(NAMESPACE, f"{tool['tool']}/{kind}"),
        tool=name,
        vendor=vendor,
        matches=matches,
        references=refs,
        description=_INTRO.format(name=name, vendor=vendor.rstrip(".")) + " " + what,
        notes=notes + (f" The fact table notes: {tool['notes']}" if tool.get("notes") else ""),
        status=STATUS[kind],
        author=AUTHOR,
        date=DATE,
        website=block["website"],
        comments=[f"{KINDS[kind].title} rule for {name}."],
    )


def _signer_spec(plan: Plan, commits: dict[str, str]) -> RuleSpec | None:
    exact, terms, refs = signer_values(plan)
    if plan.tool["tool"] == FOUNDING_TOOL:
        return None  # the founding signer rule is kept as written by hand
    if not (exact or terms):
        detail = "no signer value that is both sure and specific to this tool"
        plan.skip("signer_rule", "", "no-trustworthy-signer", detail)
        return None
    field_name = "file.code_signature.subject_name"
    matches = [(field_name, "equals", exact)] if exact else []
    matches += [(field_name, "has", terms)] if terms else []
    notes = (
        "Exact certificate subjects (LOLRMM, Elastic) are matched with equals, the short "
        "Defender terms (jischell-msft hunting queries) with has; both ignore case, so "
        "spellings that differ only in case match either way, and every spelling and former "
        "company name the sources give is kept." + _skipped_note(plan, {"signer"})
    )
    elastic_only = sorted(
        signer["value"]
        for signer in plan.tool.get("signers", [])
        if signer["value"] in exact and all(ref.startswith("elastic/") for ref in signer["sources"])
    )
    if elastic_only:
        listed = ", ".join(f"'{value}'" for value in elastic_only)
        notes += (
            f" {listed}: Elastic lists signers without naming the tool; the fact table files "
            "these under this tool by vendor name, which is likely but not stated by the source."
        )
    siblings = sorted(
        {tool for value in (*exact, *terms) for tool in plan.family.get(value.lower(), ())}
        - {plan.tool["tool"]}
    )
    if siblings:
        notes += (
            f" The fact table gives some of these signers for {', '.join(siblings)} too: the "
            "vendor signs several of its RMM products alike, so a hit names the vendor's RMM "
            "family, not one product (still an RMM tool, unlike a signer shared with unrelated "
            "software)."
        )
    if any(s["reason"] == "shared-signer" for s in plan.skipped):
        notes += (
            " A shared signer is never a detection alone, and the certificate table carries "
            "no process name to combine it with; the process and network rules cover those "
            "binaries instead."
        )
    what = "This rule finds files signed by the tool's publisher."
    return _spec("signer", plan.tool, matches, _urls(refs, commits), what, notes)


def _process_spec(plan: Plan, commits: dict[str, str]) -> RuleSpec | None:
    names, companies, refs = process_values(plan)
    if not (names or companies):
        return None
    matches = [("process.name", "equals", names)] if names else []
    matches += [("process.pe.company", "has", companies)] if companies else []
    notes = (
        "Process names come from LOLRMM and Elastic, version-info company terms from the "
        "jischell-msft hunting queries (matched with has, as there). A renamed binary still "
        "matches on its company; a binary without version info matches on its name only."
        + _skipped_note(plan, {"process", "pe_company"})
        + _no_signer_note(plan)
        + _founding_note(plan)
    )
    what = "This rule finds its processes by executable name or publisher."
    return _spec("process", plan.tool, matches, _urls(refs, commits), what, notes)


def _network_spec(plan: Plan, commits: dict[str, str]) -> RuleSpec | None:
    domains, refs = domain_values(plan)
    if not domains:
        return None
    notes = (
        "Domains come from LOLRMM and the jischell-msft queries. A source's '*.example.com' "
        "is written as endswith '.example.com' plus equals 'example.com': the wildcard "
        "stands for any subdomain, and the bare domain is the same vendor's. Experimental: "
        "destination.domain is a host name, and platforms that log a URL instead (Defender's "
        "RemoteUrl may) can miss matches." + _skipped_note(plan, {"domain"}) + _founding_note(plan)
    )
    what = "This rule finds connections to the tool's service domains."
    matches = domain_matches(domains)
    return _spec("network", plan.tool, matches, _urls(refs, commits), what, notes)


def _no_signer_note(plan: Plan) -> str:
    if not any(s["kind"] == "signer_rule" for s in plan.skipped):
        return ""
    left = _skipped_note(plan, {"signer"}).replace(" Left out:", " Its signers:")
    return " This tool has no signer rule, so this rule and the network rule cover it." + (
        left or " The fact table gives no signer."
    )


def _founding_note(plan: Plan) -> str:
    return _FOUNDING_NOTE if plan.tool["tool"] == FOUNDING_TOOL else ""


def signer_families(tools: Sequence[dict[str, Any]]) -> dict[str, set[str]]:
    """Map each sure signer value (lower case) to the tools the fact table gives it for."""
    family: dict[str, set[str]] = {}
    for tool in tools:
        for signer in tool.get("signers", []):
            if "unsure" not in signer:
                family.setdefault(signer["value"].lower(), set()).add(tool["tool"])
    return family


def plan_rules(
    tool: dict[str, Any], commits: dict[str, str], family: dict[str, set[str]]
) -> tuple[list[RuleSpec], Plan]:
    """Build the rules of one tool and record what was left out."""
    plan = Plan(tool, tool_slug(_tool_block(tool)["name"] or ""), family)
    specs = [build(plan, commits) for build in (_signer_spec, _process_spec, _network_spec)]
    return [spec for spec in specs if spec is not None], plan


def _urls(refs: set[str], commits: dict[str, str]) -> list[str]:
    return sorted({source_url(ref, commits) for ref in refs})


def header(tool: dict[str, Any]) -> list[str]:
    """The comment block at the top of a generated file."""
    block = _tool_block(tool)
    vendor = (block["vendor"] or "").rstrip(".")
    about = f"{block['name']}: remote monitoring and management tool by {vendor}."
    lines = [
        *("# " + line for line in textwrap.wrap(about, 94, break_on_hyphens=False)),
        "# Generated by tools/generate_catalog.py from tools/rmm_facts.yaml: edit those, then",
        "# run `python tools/generate_catalog.py`, rather than editing this file by hand.",
    ]
    if tool["tool"] == FOUNDING_TOOL:
        lines.append("# The first document, the founding signer rule, is kept as written by hand.")
    return lines


def founding_text(existing: Path, head: list[str]) -> str:
    """Return the hand-written first document of the founding tool's file, unchanged."""
    text = existing.read_text(encoding="utf-8")
    prefix = "\n".join(head) + "\n"
    text = text.removeprefix(prefix)
    first = text.split("\n---\n", 1)[0]
    return first.rstrip("\n") + "\n"


def render_file(tool: dict[str, Any], specs: Sequence[RuleSpec], seed: Path) -> str:
    """Write one tool's file."""
    head = header(tool)
    lines = list(head)
    text = "\n".join(lines) + "\n"
    if tool["tool"] == FOUNDING_TOOL:
        text += founding_text(seed, head)
    for spec in specs:
        text += "\n".join(rule_lines(spec)) + "\n"
    return text


def generate(facts_path: Path, output: Path, seed: Path) -> list[Path]:
    """Write every rule file and skipped.json into ``output``; return the files written."""
    facts = load_facts(facts_path)
    commits = _commits(facts["meta"])
    family = signer_families(facts["tools"])
    output.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    skipped: list[dict[str, str]] = []
    for tool in sorted(facts["tools"], key=lambda t: tool_slug(t["tool"])):
        specs, plan = plan_rules(tool, commits, family)
        skipped += plan.skipped
        if not specs and tool["tool"] != FOUNDING_TOOL:
            continue
        target = output / f"{plan.slug}.yml"
        target.write_text(render_file(tool, specs, seed), encoding="utf-8")
        written.append(target)
    skipped.sort(key=lambda s: (s["tool"].lower(), s["kind"], s["value"].lower(), s["value"]))
    report = {
        "generated_from": "tools/rmm_facts.yaml",
        "description": "Facts of the table that the catalog leaves out, each with the reason.",
        "skipped": skipped,
    }
    target = output / "skipped.json"
    target.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=REPO / "rules")
    parser.add_argument("--facts", type=Path, default=REPO / "tools" / "rmm_facts.yaml")
    parser.add_argument(
        "--seed",
        type=Path,
        default=REPO / "rules" / "supremo.yml",
        help="the file whose first document is the founding rule",
    )
    args = parser.parse_args(argv)
    written = generate(args.facts, args.output, args.seed)
    sys.stdout.write(f"wrote {len(written)} files to {args.output}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
