"""What the command line prints of warehouse text: no terminal control sequences, brackets kept as text."""

from __future__ import annotations

import io

from rich.console import Console

from cli.format import markup_text, printable

HOSTILE = "Alt\x1b]0;PWNED\x07\x1b[2J\x9b31m [bold]Dorf[/bold]\tOst"


def test_control_characters_are_left_out_and_line_breaks_kept():
    assert printable(HOSTILE) == "Alt]0;PWNED[2J31m [bold]Dorf[/bold]Ost"
    assert printable("Meinten Sie:\n  01053090  Mölln, Stadt") == "Meinten Sie:\n  01053090  Mölln, Stadt"


def test_a_name_in_rich_output_is_text_not_markup():
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(f"[bold]{markup_text(HOSTILE)}[/bold]  AGS 01053002")
    shown = out.getvalue()
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert "[bold]Dorf[/bold]" in shown and "Alt]0;PWNED" in shown
