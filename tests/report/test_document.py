"""dareu.report.document: the blocks as Markdown, and that Markdown as HTML (the `markdown` package)."""

from dareu.report.document import Code, Heading, Image, Paragraph, Table, to_html, to_markdown

BLOCKS = [Heading("Report", 1), Paragraph("Run `dareu evaluate RECIPE` first; a & b."),
          Table(["model", "forget mass"], [["grad_ascent", "0.5"], ["dareu", "0.1"]], {(1, 1)}),
          Code("a: 1 < 2\n", "yaml"), Image("plots/x.png", "Forget mass per answer")]


def test_markdown():
    md = to_markdown(BLOCKS)
    assert md.startswith("# Report\n\nRun `dareu evaluate RECIPE` first; a & b.\n\n| model | forget mass |")
    assert "| dareu | **0.1** |" in md and "```yaml\na: 1 < 2\n```" in md
    assert "![Forget mass per answer](plots/x.png)  \n*Forget mass per answer*" in md


def test_html_says_what_the_markdown_says():
    page = to_html(BLOCKS, "DareU report: <run>")
    assert page.startswith("<!doctype html>") and "<title>DareU report: &lt;run&gt;</title>" in page
    assert "<h1>Report</h1>" in page and "<code>dareu evaluate RECIPE</code> first; a &amp; b." in page
    assert "<table>" in page and "<td>grad_ascent</td>" in page and "<strong>0.1</strong>" in page
    assert '<code class="language-yaml">a: 1 &lt; 2' in page
    assert '<img alt="Forget mass per answer" src="plots/x.png" />' in page
    assert "<em>Forget mass per answer</em>" in page
