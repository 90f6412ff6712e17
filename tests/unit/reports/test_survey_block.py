"""The survey block of the section Coworking-Lücke says when several answers could be chosen: the shares of such a
question add up to more than 100, which read as an error on the page (the flag was read for the check only).

Constructed rows, not a town's survey."""

from __future__ import annotations

import datetime as dt

import jinja2

from reports.build import TEMPLATES
from reports.coworking_gap import _surveys
from reports.labels import de_number


def row(code: str, answer: str, share: float, multiple: bool) -> dict:
    return {"question_code": code, "question": f"Frage {code}", "multiple_choice": multiple, "answer": answer,
            "share": share, "respondents": 120, "fieldwork_from": dt.date(2023, 5, 1),
            "fieldwork_to": dt.date(2023, 5, 31), "conducted_by": "Stadt", "supplier": "Stadt", "licence": "CC-BY-4.0"}


def render(rows: list[dict]) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(de=de_number)
    context = {"gap": None, "reach_km": 10, "spaces": [], "destinations": [], "surveys": _surveys(rows),
               "parameters": [], "map": None}
    return env.get_template("coworking_gap.html.j2").render(cowork_gap=context)


def test_a_multiple_choice_question_says_its_shares_may_add_up_to_more_than_100():
    html = render([row("W1", "Zuhause", 70, True), row("W1", "Coworking", 40, True),
                   row("E1", "Ja", 55, False), row("E1", "Nein", 45, False)])
    captions = html.split("<caption>")[1:]
    by_code = {c.split(":")[0]: c.split("</caption>")[0] for c in captions}
    assert set(by_code) == {"E1", "W1"}
    assert "Mehrfachnennung möglich" in by_code["W1"] and "Mehrfachnennung" not in by_code["E1"]
