"""Shipped long English prompts (real texts, see ``golden/data/SOURCES.md``).

``PROMPTS`` maps a prompt name to a one-line description.  ``default`` is the
prompt the tests and the demo use; the others are held out, in different
styles, to judge defaults on texts the tests never see.  Every text is longer
than 8300 SmolLM2 tokens, so any length up to the 8192-token context fits.
"""

from __future__ import annotations

from pathlib import Path

from hdl.errors import UserError

DATA_DIR = Path(__file__).resolve().parent / "data"

PROMPTS: dict[str, str] = {
    "default": "Python 3.11 language reference: the type hierarchy, execution model, import system "
               "(technical prose)",
    "gnu-licenses": "GNU GPL version 3 followed by the GNU FDL 1.3 (legal prose; held out)",
    "nettle-manual": "Nettle cryptographic library manual, chapters 1-7.1 (API manual with C code; held out)",
}

HELD_OUT: tuple[str, ...] = tuple(name for name in PROMPTS if name != "default")


def prompt_path(name: str = "default") -> Path:
    """File of a shipped prompt; UserError naming the valid names if unknown."""
    if not isinstance(name, str) or name not in PROMPTS:
        raise UserError(f"unknown prompt {name!r}; shipped prompts: {', '.join(PROMPTS)} "
                        f"(or pass --prompt-file PATH for your own text)")
    return DATA_DIR / f"{name}.txt"


def prompt_text(name: str = "default") -> str:
    """The full text of a shipped prompt."""
    return prompt_path(name).read_text(encoding="utf-8")
