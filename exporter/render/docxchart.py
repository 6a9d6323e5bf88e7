"""A native chart in a Word document: the chart part, its embedded workbook and the inline drawing.

python-docx has no chart API, so the part, its relationships and the inline drawing that shows it
are made here from the OPC layer up; the chart's XML and its workbook come from `nativechart`,
which (unlike this module) a workbook build imports without python-docx.
"""

from __future__ import annotations

import itertools

from docx.opc.constants import CONTENT_TYPE as CT, RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml.ns import nsdecls
from docx.oxml.parser import parse_xml

from ..core.document import Chart
from ..core.text import xml_safe
from .nativechart import C_NS, CHART_CONTENT_TYPE, chart_space_xml, data_workbook
from .theme import Theme

__all__ = ["add_docx_chart"]


_INLINE = (
    f"<wp:inline {nsdecls('wp', 'a', 'c', 'r')} distT=\"0\" distB=\"0\" distL=\"0\" distR=\"0\">"
    '<wp:extent cx="{cx}" cy="{cy}"/>'
    '<wp:effectExtent l="0" t="0" r="0" b="0"/>'
    '<wp:docPr id="{id}" name="Chart {number}"/>'
    "<wp:cNvGraphicFramePr/>"
    f'<a:graphic><a:graphicData uri="{C_NS}">'
    '<c:chart r:id="{rid}"/>'
    "</a:graphicData></a:graphic>"
    "</wp:inline>"
)


def add_docx_chart(
    paragraph,
    chart: Chart,
    theme: Theme,
    *,
    width_emu: int,
    height_emu: int,
    description: str,
    title: bool = True,
    embed_data: bool = True,
) -> None:
    """Add *chart* as a native Word chart in a new run at the end of the python-docx *paragraph*.

    The chart is a part ``/word/charts/chartN.xml`` of the paragraph's package, related from the
    paragraph's part (the document body, a header, …) and shown inline at *width_emu* x
    *height_emu*; *description* is its alternative text. With *embed_data* its data also goes in
    as a workbook (``/word/embeddings/``) so that Word's "Edit Data" works; readers draw the
    chart from the values the chart part carries either way. python-docx writes the content-type
    overrides of the new parts from their content types when it saves.
    """
    host = paragraph.part
    package = host.package
    number = _free_number(package, "/word/charts/chart{}.xml")
    chart_part = _ChartPart(PackURI(f"/word/charts/chart{number}.xml"), package, chart, theme, title=title)
    if embed_data:
        pattern = "/word/embeddings/Microsoft_Excel_Worksheet{}.xlsx"
        name = PackURI(pattern.format(_free_number(package, pattern)))
        chart_part.relate_to(Part(name, CT.SML_SHEET, data_workbook(chart), package), RT.PACKAGE)
    rid = host.relate_to(chart_part, RT.CHART)
    inline = parse_xml(
        _INLINE.format(cx=int(width_emu), cy=int(height_emu), id=host.next_id, number=number, rid=rid)
    )
    doc_pr = inline.find(f"{{{inline.nsmap['wp']}}}docPr")
    doc_pr.set("descr", xml_safe(description))  # set, not formatted in: lxml escapes it
    paragraph.add_run().element.add_drawing(inline)


class _ChartPart(Part):
    """A DOCX chart part whose XML is made when the package is saved.

    The XML names the part's relationship to its embedded workbook, which exists only once the
    part does; python-docx's own parts likewise serialise in `blob`.
    """

    def __init__(self, partname: PackURI, package, chart: Chart, theme: Theme, *, title: bool):
        super().__init__(partname, CHART_CONTENT_TYPE, package=package)
        self._chart, self._theme, self._title = chart, theme, title

    @property
    def blob(self) -> bytes:
        workbook = next((rid for rid, rel in self.rels.items() if rel.reltype == RT.PACKAGE), None)
        return chart_space_xml(self._chart, self._theme, title=self._title, workbook_rid=workbook)


def _free_number(package, pattern: str) -> int:
    """Return 1 + the number of parts named like *pattern* in *package*, or the next free number after it.

    A template may hold chart1 and chart3 only; the number must not name an existing part.
    """
    taken = {str(part.partname) for part in package.iter_parts()}
    prefix, _, suffix = pattern.partition("{}")
    count = sum(1 for name in taken if name.startswith(prefix) and name.endswith(suffix))
    return next(n for n in itertools.count(count + 1) if pattern.format(n) not in taken)
