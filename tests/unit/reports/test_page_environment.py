"""The report pages' Jinja environment and number labels: the shortcuts give what Jinja and the long forms gave."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import jinja2
import pandas as pd
import pytest

from markupsafe import Markup

from reports.build import PageEnvironment, _berlin_cached, _escape_output
from reports.labels import berlin_time, de_number, de_signed, is_missing


def render(environment_class, source: str, **context) -> str:
    env = environment_class(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(source).render(**context)


TEMPLATE = ("{{ row.label }}|{{ row.items }}|{{ units.get('a', '-') }}|{{ units.get('zz', '-') }}|{{ obj.real }}|"
            "{{ row['label'] }}")
CONTEXT = {"row": {"label": "<Mölln>", "items": 3}, "units": {"a": "km²"}, "obj": 2.5}


def test_dict_keys_first_renders_what_jinja_renders():
    """Keys, a key named like a dict method that no template calls, a method that templates call
    (units.get) and an attribute of another object: the same text as Jinja's own environment, except
    ``row.items``, which is now the key (Jinja gave the dict method), the reason no context key is named so."""
    ours, jinjas = render(PageEnvironment, TEMPLATE, **CONTEXT), render(jinja2.Environment, TEMPLATE, **CONTEXT)
    assert ours.split("|")[0] == jinjas.split("|")[0] == "&lt;Mölln&gt;"
    assert ours.split("|")[1] == "3" and jinjas.split("|")[1].startswith("&lt;built-in method items")
    assert ours.split("|")[2:] == jinjas.split("|")[2:] == ["km²", "-", "2.5", "&lt;Mölln&gt;"]


ESCAPED = ("{% macro cell(v) %}<td>{{ v }}</td>{% endmacro %}{% set block %}<b>{{ text }}</b>{% endset %}"
           "{{ text }}|{{ number }}|{{ share }}|{{ big }}|{{ nothing }}|{{ flag }}|{{ safe }}|{{ text|safe }}|"
           "{{ cell(text) }}|{{ block }}|{{ text ~ safe }}|{{ [text] }}|{{ text|upper }}|{% for t in [text, safe] %}{{ t }}{% endfor %}")
ESCAPED_CONTEXT = {"text": "Mölln <&> 'a' \"b\"", "number": -3, "share": 0.1 + 0.2, "big": 1e20, "nothing": None,
                   "flag": True, "safe": Markup("<i>x</i>")}


def test_output_is_escaped_as_jinja_escapes_it():
    """Texts with every character HTML escapes, numbers, None, booleans, Markup, |safe, a macro's output, a
    captured block, ~ and a list: the same text as Jinja's own environment; and the page templates' output
    goes through ``_escape_output`` (the name the compiled code looks up on each ``{{ }}``)."""
    ours = render(PageEnvironment, ESCAPED, **ESCAPED_CONTEXT)
    assert ours == render(jinja2.Environment, ESCAPED, **ESCAPED_CONTEXT)
    assert ours.startswith("Mölln &lt;&amp;&gt; &#39;a&#39; &#34;b&#34;|-3|0.30000000000000004|1e+20|None|True|<i>x</i>|")
    env = PageEnvironment(autoescape=True)
    assert "escape(" in env.compile("{{ text }}", raw=True)
    assert env.from_string("{{ text }}").root_render_func.__globals__["escape"] is _escape_output


def test_a_missing_key_is_still_an_error():
    with pytest.raises(jinja2.UndefinedError, match="no attribute 'nothing'"):
        render(PageEnvironment, "{{ row.nothing }}", row={"label": "x"})


@pytest.mark.parametrize("value, shown", [
    (pd.Timestamp("2026-12-01 15:38"), "01.12.2026 16:38 Uhr"),  # naive = UTC; winter: CET, UTC+1
    (dt.datetime(2026, 7, 1, 22, 30), "02.07.2026 00:30 Uhr"),  # summer: CEST, UTC+2, past midnight in Berlin
    (None, "–"), (float("nan"), "–"),
    # the clocks go forward on the last Sunday of March (29.03.2026) at 01:00 UTC: 01:30 UTC is 03:30 CEST
    (pd.Timestamp("2026-03-29 01:30", tz="UTC"), "29.03.2026 03:30 Uhr")])
def test_berlin_time_cached_is_berlin_time(value, shown):
    assert _berlin_cached(value) == _berlin_cached(value) == berlin_time(value) == shown


def de_number_reference(value, digits: int = 1) -> str:
    """The German number as a reader writes it: the decimal the download shows, rounded half away from zero
    (decimal arithmetic, three replaces), a real minus sign, none before a zero."""
    if is_missing(value):
        return "–"
    exact = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    text = f"{abs(exact):,.{digits}f}".replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return ("\u2212" if exact < 0 else "") + text


@pytest.mark.parametrize("value", [0, 3, -0.05, 12.35, 1234567.891, -9876543.21, 1e16, 0.5, 2.5, None,
                                   float("nan"), True, 82.485, 29.885, -0.004, 2.675, 0.125, -0.005, 19.895])
@pytest.mark.parametrize("digits", [0, 1, 2])
def test_de_number_is_the_decimal_rounded_half_up(value, digits):
    assert de_number(value, digits) == de_number_reference(value, digits)


def test_de_number_rounds_what_the_download_shows():
    """The audit of 3 December: the reference-group median 82.485 read '82,48' on the page and 82,485 in the CSV;
    negative values had a hyphen in the tables and a real minus in the contributions."""
    assert [de_number(82.485, 2), de_number(29.885, 2), de_number(19.895, 1)] == ["82,49", "29,89", "19,9"]
    assert [de_number(-0.5, 2), de_number(-0.004, 2), de_number(-1234.5, 0)] == ["\u22120,50", "0,00", "\u22121.235"]
    assert de_number(12.3449999, 2) == "12,34"  # near a tie, not on it
    assert de_number((29.88 + 29.89) / 2, 2) == "29,89"  # 29.884999999999998, written 29,885 in the download
    assert [de_signed(-0.04), de_signed(0.0, 2), de_signed(-0.05), de_signed(0.004, 2)] == [
        "0,0", "0,00", "\u22120,1", "0,00"]


def test_the_templates_credit_sources_as_sources_yaml_does():
    """Every © and licence in a template's fixed text comes from sources.yaml (``credit_de``): the notes wrote
    "© OpenStreetMap-Mitwirkende, ODbL 1.0" and "© OpenStreetMap contributors (ODbL)" by hand beside a sources.yaml
    that says otherwise (review of 6 December 2026)."""
    import re
    from pathlib import Path

    from reports.build import page_environment
    from sources.registry import load_sources

    templates = Path(__file__).resolve().parents[3] / "reports" / "templates"
    written = [f"{path.name}: {line.strip()[:80]}" for path in sorted(templates.glob("*.j2"))
               for line in path.read_text(encoding="utf-8").splitlines()
               if re.search(r"©|ODbL|dl-de/", line) and not line.lstrip().startswith("//")]
    assert written == []
    osm = load_sources()["osm_coworking"]
    assert page_environment().globals["credit_de"]("osm_coworking") == f"{osm.attribution_de}, {osm.licence}"
