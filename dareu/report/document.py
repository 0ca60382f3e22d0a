"""A report as a list of blocks, rendered to Markdown, and that Markdown to a self-contained HTML
page by the `markdown` package (tables and fenced code), so the two say the same.

Paragraph text is Markdown: `code` and **bold** render in the HTML too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    bold: set[tuple[int, int]] = field(default_factory=set)
    """(row, column) cells to emphasise (the best per column)."""


@dataclass
class Code:
    text: str
    lang: str = ""


@dataclass
class Image:
    path: str
    """Relative to the report file."""
    caption: str


Block = Heading | Paragraph | Table | Code | Image


def to_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append("#" * b.level + " " + b.text)
        elif isinstance(b, Paragraph):
            out.append(b.text)
        elif isinstance(b, Table):
            cells = [[f"**{c}**" if (i, j) in b.bold else c for j, c in enumerate(r)]
                     for i, r in enumerate(b.rows)]
            out.append("\n".join(["| " + " | ".join(b.header) + " |",
                                  "|" + "|".join("---" for _ in b.header) + "|",
                                  *("| " + " | ".join(r) + " |" for r in cells)]))
        elif isinstance(b, Code):
            out.append(f"```{b.lang}\n{b.text.rstrip()}\n```")
        elif isinstance(b, Image):
            out.append(f"![{b.caption}]({b.path})  \n*{b.caption}*")  # the caption shows in both
    return "\n\n".join(out) + "\n"


_CSS = ("body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;"
        "text-align:right}td:first-child,th:first-child{text-align:left}"
        "pre{background:#f6f6f6;padding:1em;overflow:auto}img{max-width:100%}")


def to_html(blocks: list[Block], title: str) -> str:
    import markdown

    body = markdown.markdown(to_markdown(blocks), extensions=["tables", "fenced_code"])
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n")
