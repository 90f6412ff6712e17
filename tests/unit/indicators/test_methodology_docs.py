"""docs/methodology.md: its generated indicator table matches the catalogue, and it covers every indicator."""

from __future__ import annotations

from pathlib import Path

import yaml

from indicators import docs
from indicators.catalogue import CATALOGUE_YAML, load_catalogue

CATALOGUE = load_catalogue()
METHODOLOGY = docs.METHODOLOGY_PATH


def _split(text: str) -> tuple[str, str, str]:
    """(before the block, the block's content, after the block) of a methodology document."""
    start = text.index(docs.METHODOLOGY_BEGIN)
    stop = text.index(docs.METHODOLOGY_END, start)
    return text[:start], text[start + len(docs.METHODOLOGY_BEGIN) + 1:stop], text[stop + len(docs.METHODOLOGY_END):]


def test_generated_block_equals_the_generator_output():
    text = METHODOLOGY.read_text(encoding="utf-8")
    assert text.count(docs.METHODOLOGY_BEGIN) == 1
    _, block, _ = _split(text)
    assert block == docs.render_methodology_block(CATALOGUE)
    assert docs.update_methodology(text, CATALOGUE) == text


def test_check_passes_for_the_committed_documents(capsys):
    assert docs.main(["--check"]) == 0
    assert "methodology.md is up to date" in capsys.readouterr().out


def test_every_catalogue_indicator_appears_in_the_methodology():
    text = METHODOLOGY.read_text(encoding="utf-8")
    before, block, after = _split(text)
    handwritten = before + after
    for indicator_id in CATALOGUE.indicators:
        assert f"`{indicator_id}`" in block, indicator_id
        assert indicator_id in handwritten, f"{indicator_id} is not discussed outside the generated table"
    for pillar in CATALOGUE.pillars:
        assert pillar in handwritten, pillar


def test_check_fails_when_the_catalogue_changes(tmp_path):
    raw = yaml.safe_load(CATALOGUE_YAML.read_text(encoding="utf-8"))
    raw["indicators"]["out_commuter_share"]["goalposts"] = [25, 95]
    changed = tmp_path / "catalogue.yaml"
    changed.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    methodology = tmp_path / "methodology.md"
    methodology.write_text(METHODOLOGY.read_text(encoding="utf-8"), encoding="utf-8")
    indicators_md = tmp_path / "indicators.md"
    indicators_md.write_text(docs.update_document(None, load_catalogue(changed)), encoding="utf-8")
    args = ["--catalogue", str(changed), "--path", str(indicators_md), "--methodology-path", str(methodology)]

    assert docs.main([*args, "--check"]) == 1  # methodology.md still shows goalposts [20, 90]
    assert docs.main(args) == 0
    assert docs.main([*args, "--check"]) == 0
    rewritten = methodology.read_text(encoding="utf-8")
    assert "[25, 95]" in _split(rewritten)[1]
    original_before, _, original_after = _split(METHODOLOGY.read_text(encoding="utf-8"))
    new_before, _, new_after = _split(rewritten)
    assert (new_before, new_after) == (original_before, original_after)  # hand-written text kept verbatim


def test_check_fails_when_only_indicators_md_is_stale(tmp_path):
    indicators_md = tmp_path / "indicators.md"
    indicators_md.write_text(docs.update_document(None, CATALOGUE).replace("[20, 90]", "[20, 80]"), encoding="utf-8")
    assert docs.main(["--check", "--path", str(indicators_md), "--methodology-path", str(METHODOLOGY)]) == 1


def test_update_methodology_without_markers_or_file():
    fresh = docs.update_methodology(None, CATALOGUE)
    assert fresh.startswith(docs.METHODOLOGY_INTRO)
    assert _split(fresh)[1] == docs.render_methodology_block(CATALOGUE)
    appended = docs.update_methodology("# Notes\n\nText.\n", CATALOGUE)
    assert appended.startswith("# Notes\n\nText.\n\n" + docs.METHODOLOGY_BEGIN)
    assert docs.update_methodology(appended, CATALOGUE) == appended


def test_indicators_md_generation_is_unchanged():
    """docs/indicators.md keeps its own markers and layout (no 'required' column)."""
    text = (Path(docs.DOCS_PATH)).read_text(encoding="utf-8")
    assert docs.update_document(text, CATALOGUE) == text
    assert "| pillar | label | weight | indicators |" in text
    assert docs.METHODOLOGY_BEGIN not in text
